// Option objects for the plugins used by the bench gateway configs.
//
// THE PLUGINS' OPTION SHAPES ARE NOT FINAL: this is a best guess, kept in this
// one file so it is easy to fix. If a gateway scenario fails its smoke request
// (e.g. 401/403/500 from the gateway), look here first.
//
// They are typed loosely on purpose so that `npm run typecheck` does not break
// while the plugin APIs are still moving; tighten to the real option types
// (e.g. `satisfies Parameters<typeof keys>[0]`) once they settle.

type Opts = Record<string, any>

/** Forward key fk-bench -> upstream key sk-bench. */
export const keysOptions: Opts = {
  upstream: ['sk-bench'],
  forward: { 'fk-bench': { upstream: 'sk-bench' } },
}

export const ipFilterOptions: Opts = { allow: ['127.0.0.1'] }

/** Very high so it never triggers during the bench. */
export const rateLimitOptions: Opts = { limit: '1000000/minute' }

/** Very high token budget so it never triggers during the bench. */
export const tokenLimitOptions: Opts = { limit: '1000000000/minute' }

/** In-memory cache. In the full scenario requests don't set `caching`, so every request misses. */
export const cacheOptions: Opts = {}

export const retryOptions: Opts = { attempts: 3 }

/** The harness creates a temp dir and passes it in BENCH_CHATLOG_DIR (removed afterwards). */
export const chatLogOptions: Opts = { dir: process.env.BENCH_CHATLOG_DIR ?? '/tmp/openai-forward-bench-chatlog' }
