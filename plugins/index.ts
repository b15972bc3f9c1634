/// <reference types="node" preserve="true" />
// The public types use Node's (streams, Buffer, IncomingMessage): a user's project gets them with the package.
/**
 * The built-in plugins. Each is written only against the public plugin API (`openai-forward`),
 * exactly as a user's own plugin would be.
 */
export { keys, type KeysOptions, type KeysMode, type KeyLevel, type ForwardKey, type NamedForwardKey } from './keys/index.ts'
export { ipFilter, type IpFilterOptions } from './ipFilter/index.ts'
export { rateLimit, type RateLimitOptions, type LimitRule, type LimitScope, type LimitStrategy, type Rate } from './rateLimit/index.ts'
export { tokenLimit, type TokenLimitOptions, type PaceOptions } from './tokenLimit/index.ts'
export { cache, type CacheOptions } from './cache/index.ts'
export { retry, type RetryOptions } from './retry/index.ts'
export { budget, type BudgetOptions, type BudgetScope, type Budget } from './budget/index.ts'
export { chatLog, type ChatLogOptions, type ChatLogRecord, type ChatLogKind, type ChatLogAnswer, type RedactRule } from './chatLog/index.ts'
export { translate, type TranslateOptions, type Provider } from './translate/index.ts'
