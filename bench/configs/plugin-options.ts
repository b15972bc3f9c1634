// Option objects for the plugins of the bench's full route, typed by the plugins' own option types.
import type { BudgetOptions } from '../../plugins/budget/index.ts'
import type { CacheOptions } from '../../plugins/cache/index.ts'
import type { ChatLogOptions } from '../../plugins/chatLog/index.ts'
import type { IpFilterOptions } from '../../plugins/ipFilter/index.ts'
import type { KeysOptions } from '../../plugins/keys/index.ts'
import type { RateLimitOptions } from '../../plugins/rateLimit/index.ts'
import type { RetryOptions } from '../../plugins/retry/index.ts'
import type { TokenLimitOptions } from '../../plugins/tokenLimit/index.ts'

/** Forward key fk-bench stands in for the upstream key sk-bench. */
export const keysOptions = { keys: ['sk-bench'], forwardKeys: { bench: 'fk-bench' } } satisfies KeysOptions

export const ipFilterOptions = { allow: ['127.0.0.1'] } satisfies IpFilterOptions

/** Very high so it never refuses during the bench: the cost of counting is what is measured. */
export const rateLimitOptions = { limit: '1000000/minute' } satisfies RateLimitOptions

/** Very high token budget so it never refuses during the bench. */
export const tokenLimitOptions = { limit: '1000000000/minute' } satisfies TokenLimitOptions

/** Very high dollar budget (per client IP, as tokenLimit) so it never refuses: reserving and settling is what is measured. */
export const budgetOptions = { limit: '$1000000/day' } satisfies BudgetOptions

/** In the full scenario requests don't set `caching`, so every request is a miss (BYPASS). */
export const cacheOptions = {} satisfies CacheOptions

export const retryOptions = { attempts: 3 } satisfies RetryOptions

/** The harness creates a temp dir and passes it in BENCH_CHATLOG_DIR (removed afterwards). */
export const chatLogOptions = { dir: process.env.BENCH_CHATLOG_DIR ?? '/tmp/openai-forward-bench-chatlog' } satisfies ChatLogOptions
