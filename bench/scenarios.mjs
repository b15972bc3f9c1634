// Scenario, gateway and target definitions for `npm run bench`. Plain data, no side effects.

/** Plugins the full-plugin gateway config imports (bench/configs/full.config.ts). */
export const FULL_PLUGINS = ['keys', 'ipFilter', 'rateLimit', 'tokenLimit', 'cache', 'retry', 'chatLog']
/** Plugins `npm run bench:plugins` measures one by one: the full route's, and those not on it (yet). */
export const SINGLE_PLUGINS = [...FULL_PLUGINS, 'budget']

/**
 * Gateway processes: one `aifd run` per config. `plugins` = exports the config needs
 * from openai-forward/plugins (a gateway whose plugins are missing is not started).
 * @type {Record<string, { config: string, plugins: string[] }>}
 */
export const GATEWAYS = {
  bare: { config: 'bench/configs/bare.config.ts', plugins: [] },
  full: { config: 'bench/configs/full.config.ts', plugins: FULL_PLUGINS },
  'cache-hit': { config: 'bench/configs/cache-hit.config.ts', plugins: ['cache'] },
}

export const CHAT_PATH = '/v1/chat/completions'
export const MODEL = 'gpt-4o-mini'
export const SSE_CHUNKS = 20

/** @param {{ stream?: boolean, caching?: boolean }} o */
export function chatBody(o = {}) {
  /** @type {Record<string, unknown>} */
  const b = { model: MODEL, messages: [{ role: 'user', content: 'hi' }] }
  if (o.stream) b.stream = true
  if (o.caching) b.caching = true
  return JSON.stringify(b)
}

/** @param {string} key @param {boolean} stream */
export function chatHeaders(key, stream) {
  /** @type {Record<string, string>} */
  const h = { 'content-type': 'application/json', authorization: `Bearer ${key}` }
  if (stream) { h['x-mock-chunks'] = String(SSE_CHUNKS); h.accept = 'text/event-stream' }
  return h
}

/**
 * @typedef {{ name: string, proc: 'gateway:bare' | 'gateway:full' | 'gateway:cache-hit' | 'passthrough' | 'mock', key: string, stream: boolean, caching?: boolean, role: 'subject' | 'baseline' | 'reference' }} TargetDef
 * @typedef {{ id: string, title: string, gateway: string | null, stream: boolean, targets: TargetDef[], warmCache?: boolean }} ScenarioDef
 */

/**
 * A scenario that runs one gateway config against the bare passthrough, both JSON or both streamed.
 * @param {string} id @param {string} title @param {string} gateway @param {boolean} stream
 * @param {string} key the key the gateway's clients send (the passthrough always gets the real one)
 * @returns {ScenarioDef}
 */
function gatewayVsPassthrough(id, title, gateway, stream, key) {
  return {
    id, title, gateway, stream,
    targets: [
      { name: `gateway(${gateway})`, proc: `gateway:${gateway}`, key, stream, role: 'subject' },
      { name: 'passthrough', proc: 'passthrough', key: 'sk-bench', stream, role: 'baseline' },
    ],
  }
}

/** @type {ScenarioDef[]} */
export const SCENARIOS = [
  gatewayVsPassthrough('json-bare', 'JSON, bare route', 'bare', false, 'sk-bench'),
  gatewayVsPassthrough('sse-bare', 'SSE (20 chunks), bare route', 'bare', true, 'sk-bench'),
  gatewayVsPassthrough('json-full', 'JSON, all plugins (cache miss)', 'full', false, 'fk-bench'),
  gatewayVsPassthrough('sse-full', 'SSE (20 chunks), all plugins', 'full', true, 'fk-bench'),
  {
    id: 'cache-hit', title: 'JSON, cache hit (caching: true, warmed)', gateway: 'cache-hit', stream: false, warmCache: true,
    targets: [
      { name: 'gateway(cache)', proc: 'gateway:cache-hit', key: 'sk-bench', stream: false, caching: true, role: 'subject' },
      { name: 'passthrough', proc: 'passthrough', key: 'sk-bench', stream: false, caching: true, role: 'baseline' },
    ],
  },
  {
    id: 'direct', title: 'straight to the mock (reference)', gateway: null, stream: false,
    targets: [
      { name: 'direct(json)', proc: 'mock', key: 'sk-bench', stream: false, role: 'reference' },
      { name: 'direct(sse)', proc: 'mock', key: 'sk-bench', stream: true, role: 'reference' },
    ],
  },
]

/** Pass/fail targets from the issue. Ratios are gateway ÷ passthrough in the same scenario. */
export const TARGETS = {
  bareCpuRatioMax: 1.15,
  bareRpsRatioMin: 0.85,
  bareAddedTtfbMsMax: 0.3,
  fullCpuRatioMax: 1.5,
  cacheHitRpsRatioMin: 1.5,
  rssMbMax: 150,
  /** "No RSS growth across reps": RSS after the last rep minus after the first rep, per gateway and scenario. */
  rssGrowthMbMax: 10,
}
