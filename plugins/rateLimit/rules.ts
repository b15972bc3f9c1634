import { assertConfig, checkKnownKeys, ConfigError, parseRate, type ForwardContext, type RateLimitItem, type WindowSpec } from '../../src/index.ts'

/**
 * A rate as the original openai-forward wrote them: `"60/minute"`, `"100/2minutes"`,
 * `"60/minute;600/hour"` (every part must hold), `"100k/minute"` (k and m suffixes, for tokens).
 * Units: second, minute, hour, day (and their plurals and short forms s, m, h, d).
 */
export type Rate = `${number}/${string}` | `${number}k/${string}` | `${number}m/${string}`

/**
 * Who shares one counter:
 * - `key`: each caller (forward key, as named by the `keys` plugin); a request without a known
 *   caller is counted per client IP instead.
 * - `ip`: each client IP (as the `ipFilter` plugin resolved it behind trusted proxies).
 * - `route`: everyone on the route, together.
 * - `global`: everyone on every route the plugin serves, together.
 */
export type LimitScope = 'key' | 'ip' | 'route' | 'global'

/**
 * - `moving-window`: a true sliding window over the last period: never more than the limit in any
 *   period, so no burst of twice the limit around a window edge.
 * - `fixed-window`: a counter that starts with the first request and resets one period later;
 *   cheaper, but a client can spend the limit at the end of one window and again at the start of the next.
 */
export type LimitStrategy = 'moving-window' | 'fixed-window'

/** One limit in the `limits` list: applies to every request it matches, in addition to the others. */
export interface LimitRule {
  /** The rate, e.g. `"60/minute"` or `"60/minute;600/hour"`. */
  limit: Rate
  /** Who shares the counter. Default: the plugin's `scope`. */
  scope?: LimitScope
  /** Default: the plugin's `strategy`. */
  strategy?: LimitStrategy
  /** Only requests for this model (`"gpt-4o"`, or a prefix like `"gpt-4o*"`); one counter for all models it matches. */
  model?: string
  /** Only callers at this level (set by the `keys` plugin). */
  level?: string
  /** Only this caller (the forward key's name, set by the `keys` plugin). */
  caller?: string
}

/**
 * The options both limit plugins share. A unit is a request for `rateLimit` and a token for
 * `tokenLimit` (`'100k/minute'`: k and m suffixes count thousands and millions).
 */
export interface SharedLimitOptions {
  /** Units allowed per period for every caller: `'60/minute'`, `'100/2minutes'`, `'60/minute;600/hour'` (all must hold). */
  limit?: Rate
  /** Who shares a counter: `key` (each caller; per IP when no caller is known), `ip`, `route` or `global`. Default `key`. */
  scope?: LimitScope
  /** `moving-window` (a true sliding window, no burst at a window edge) or `fixed-window`. Default `moving-window`. */
  strategy?: LimitStrategy
  /** Extra limits per model, counted per scope and model, e.g. `{ 'gpt-4o': '10/minute' }`; `'gpt-4o*'` matches by prefix. */
  models?: Record<string, Rate>
  /** Replaces `limit` for callers at a level (set by the `keys` plugin), e.g. `{ basic: '20/minute', pro: '600/minute' }`. */
  levels?: Record<string, Rate>
  /** Replaces `limit` (and `levels`) for one caller by name, e.g. `{ 'batch-job': '5/second' }`. */
  callers?: Record<string, Rate>
  /** More limits, each with its own scope, strategy and match, e.g. `[{ limit: '1000/minute', scope: 'global' }]`. */
  limits?: readonly LimitRule[]
  /** When the storage (Redis) cannot be reached: `true` serves requests unlimited, `false` refuses them with 503 `limiter_unavailable`. Default `true`. */
  failOpen?: boolean
}

/** What a request is, as far as choosing its limits goes. */
export interface RequestFacts {
  caller: string | undefined
  level: string | undefined
  ip: string
  route: string
  model: string | undefined
}

/** The windows chosen for a request, and their specs as storage takes them. Shared between requests: read only. */
export interface WindowChoice {
  windows: readonly ChosenWindow[]
  specs: WindowSpec[]
}

/** Distinct request facts remembered with their windows; past this the memo starts over. */
const CHOICES_KEPT = 10_000

/** A window chosen for a request, with the rate it enforces (for messages and headers). */
export interface ChosenWindow {
  spec: WindowSpec
  item: RateLimitItem
  scope: LimitScope
}

interface CompiledRule {
  items: RateLimitItem[]
  scope: LimitScope
  strategy: WindowSpec['strategy']
  model: ModelPattern | undefined
  level: string | undefined
  caller: string | undefined
}

interface ModelPattern {
  text: string
  matches(model: string | undefined): boolean
}

function modelPattern(text: string): ModelPattern {
  if (text.endsWith('*')) {
    const prefix = text.slice(0, -1)
    return { text, matches: (model) => model !== undefined && model.startsWith(prefix) }
  }
  return { text, matches: (model) => model === text }
}

/** The option names of `SharedLimitOptions`, for the plugins' unknown-option checks. */
export const SHARED_LIMIT_OPTIONS = ['limit', 'scope', 'strategy', 'models', 'levels', 'callers', 'limits', 'failOpen']
/** Names people reach for, for the unknown-option checks. */
export const LIMIT_HINTS = { rate: 'limit', rates: 'limits', window: 'strategy', per: 'scope', model: 'models' }
const LIMIT_RULE = ['limit', 'scope', 'strategy', 'model', 'level', 'caller']

const SCOPES: readonly LimitScope[] = ['key', 'ip', 'route', 'global']
const STRATEGIES: readonly LimitStrategy[] = ['moving-window', 'fixed-window']

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function rate(value: unknown, field: string): RateLimitItem[] {
  assertConfig(typeof value === 'string', field, `must be a rate like "60/minute", got ${JSON.stringify(value)}`)
  try {
    return parseRate(value)
  } catch (error) {
    throw new ConfigError(field, (error as Error).message)
  }
}

function scopeOf(value: unknown, fallback: LimitScope, field: string): LimitScope {
  if (value === undefined) return fallback
  assertConfig(SCOPES.includes(value as LimitScope), field, `must be one of ${SCOPES.map((s) => `"${s}"`).join(', ')}, got ${JSON.stringify(value)}`)
  return value as LimitScope
}

function strategyOf(value: unknown, fallback: WindowSpec['strategy'], field: string): WindowSpec['strategy'] {
  if (value === undefined) return fallback
  assertConfig(STRATEGIES.includes(value as LimitStrategy), field, `must be "moving-window" or "fixed-window", got ${JSON.stringify(value)}`)
  return value === 'fixed-window' ? 'fixed' : 'moving'
}

function rateTable(value: unknown, field: string): Map<string, RateLimitItem[]> {
  const table = new Map<string, RateLimitItem[]>()
  if (value === undefined) return table
  assertConfig(isRecord(value), field, 'must be an object of name → rate, like { "gpt-4o": "10/minute" }')
  for (const [name, text] of Object.entries(value)) table.set(name, rate(text, `${field}.${name}`))
  return table
}

/**
 * The limits of one plugin instance, checked once when the config loads. For each request it picks
 * the windows that apply:
 * - the caller's tier: `callers[name]`, else `levels[level]`, else `limit` (the most specific one
 *   replaces the others, so a level can grant more than the default);
 * - plus `models[model]`, counted per scope and model;
 * - plus every entry of `limits` that matches.
 */
export class LimitPlan {
  readonly #base: CompiledRule | undefined
  readonly #levels: Map<string, CompiledRule>
  readonly #callers: Map<string, CompiledRule>
  readonly #models: CompiledRule[]
  readonly #extra: CompiledRule[]
  /** Whether choosing the windows needs the request's model (so its JSON body must be read). */
  readonly needsModel: boolean
  /** Whether any limit is configured at all. */
  readonly empty: boolean
  readonly #choices = new Map<string, WindowChoice>()

  constructor(options: SharedLimitOptions, readonly field: string) {
    assertConfig(isRecord(options), field, 'must be an object of options')
    const scope = scopeOf(options.scope, 'key', `${field}.scope`)
    const strategy = strategyOf(options.strategy, 'moving', `${field}.strategy`)
    const rule = (items: RateLimitItem[], extra: Partial<CompiledRule> = {}): CompiledRule =>
      ({ items, scope, strategy, model: undefined, level: undefined, caller: undefined, ...extra })

    this.#base = options.limit === undefined ? undefined : rule(rate(options.limit, `${field}.limit`))
    this.#levels = new Map([...rateTable(options.levels, `${field}.levels`)].map(([level, items]) => [level, rule(items)]))
    this.#callers = new Map([...rateTable(options.callers, `${field}.callers`)].map(([caller, items]) => [caller, rule(items)]))
    this.#models = [...rateTable(options.models, `${field}.models`)].map(([model, items]) => rule(items, { model: modelPattern(model) }))

    const limits = options.limits ?? []
    assertConfig(Array.isArray(limits), `${field}.limits`, 'must be a list like [{ limit: "1000/minute", scope: "global" }]')
    this.#extra = limits.map((entry: LimitRule, i): CompiledRule => {
      const at = `${field}.limits[${i}]`
      assertConfig(isRecord(entry as unknown), at, 'must be an object like { limit: "60/minute", scope: "ip" }')
      checkKnownKeys(entry, LIMIT_RULE, at, { rate: 'limit', models: 'model', levels: 'level', callers: 'caller' })
      for (const name of ['model', 'level', 'caller'] as const) {
        assertConfig(entry[name] === undefined || (typeof entry[name] === 'string' && entry[name] !== ''), `${at}.${name}`, 'must be a non-empty string')
      }
      return {
        items: rate(entry.limit, `${at}.limit`),
        scope: scopeOf(entry.scope, scope, `${at}.scope`),
        strategy: strategyOf(entry.strategy, strategy, `${at}.strategy`),
        model: entry.model === undefined ? undefined : modelPattern(entry.model),
        level: entry.level,
        caller: entry.caller,
      }
    })

    this.needsModel = this.#models.length > 0 || this.#extra.some((r) => r.model)
    this.empty = !this.#base && this.#levels.size === 0 && this.#callers.size === 0 && this.#models.length === 0 && this.#extra.length === 0
  }

  /**
   * The windows for one request (see `windowsFor`), remembered by its facts: most requests come
   * from a few callers and IPs, and choosing builds a string per counter.
   */
  choose(facts: RequestFacts, perRoute: boolean): WindowChoice {
    const key = `${facts.caller}\n${facts.level}\n${facts.ip}\n${facts.route}\n${facts.model}\n${perRoute}`
    let choice = this.#choices.get(key)
    if (!choice) {
      if (this.#choices.size >= CHOICES_KEPT) this.#choices.clear()
      const windows = this.windowsFor(facts, perRoute)
      this.#choices.set(key, (choice = { windows, specs: windows.map((w) => w.spec) }))
    }
    return choice
  }

  /**
   * The windows for one request, without duplicates (the same counter twice in one `consume` would
   * count twice). `perRoute`: counters are kept apart per route (a plugin placed on routes).
   */
  windowsFor(facts: RequestFacts, perRoute: boolean): ChosenWindow[] {
    const rules: CompiledRule[] = []
    const tier = (facts.caller !== undefined && this.#callers.get(facts.caller))
      || (facts.level !== undefined && this.#levels.get(facts.level))
      || this.#base
    if (tier) rules.push(tier)
    for (const rule of this.#models) if (rule.model!.matches(facts.model)) rules.push(rule)
    for (const rule of this.#extra) {
      if (rule.model && !rule.model.matches(facts.model)) continue
      if (rule.level !== undefined && rule.level !== facts.level) continue
      if (rule.caller !== undefined && rule.caller !== facts.caller) continue
      rules.push(rule)
    }
    const chosen: ChosenWindow[] = []
    const seen = new Set<string>()
    for (const rule of rules) {
      const base = counterKey(rule, facts, perRoute)
      for (const item of rule.items) {
        const key = `${base}|${item.amount}/${item.windowMs}|${rule.strategy}`
        if (seen.has(key)) continue
        seen.add(key)
        chosen.push({ spec: { key, limit: item.amount, windowMs: item.windowMs, strategy: rule.strategy }, item, scope: rule.scope })
      }
    }
    return chosen
  }

  /** For the banner. */
  describe(): string {
    const parts: string[] = []
    if (this.#base) parts.push(`${this.#base.items.map((i) => i.text).join(' + ')} per ${this.#base.scope}`)
    if (this.#levels.size) parts.push(`${this.#levels.size} level limit(s)`)
    if (this.#callers.size) parts.push(`${this.#callers.size} caller limit(s)`)
    if (this.#models.length) parts.push(`models: ${this.#models.map((r) => `${r.model!.text} ${r.items.map((i) => i.text).join(' + ')}`).join(', ')}`)
    if (this.#extra.length) parts.push(`${this.#extra.length} more limit(s)`)
    return parts.join('; ')
  }
}

/**
 * The counter's name: scope and who, route, model. Every key starts with the same hash tag, so on
 * Redis Cluster all the windows of one request (per key, per IP, global…) live in one slot and one
 * script can check them together.
 */
function counterKey(rule: CompiledRule, facts: RequestFacts, perRoute: boolean): string {
  let key = '{limits}'
  switch (rule.scope) {
    case 'key':
      key += facts.caller !== undefined ? `key=${facts.caller}` : `ip=${facts.ip}`
      break
    case 'ip':
      key += `ip=${facts.ip}`
      break
    case 'route':
    case 'global':
      key += rule.scope
      break
  }
  if (perRoute || rule.scope === 'route') key += `|route=${facts.route}`
  if (rule.model) key += `|model=${rule.model.text}`
  return key
}

/** The facts of a request; `model` only when a limit needs it. */
export function factsOf(ctx: ForwardContext, model: string | undefined): RequestFacts {
  return { caller: ctx.caller?.name, level: ctx.caller?.level, ip: ctx.clientIp, route: ctx.route.name, model }
}

/** The model a request asks for: read from the JSON body, on `openai` routes only. */
export async function requestModel(ctx: ForwardContext): Promise<string | undefined> {
  if (ctx.route.type !== 'openai' || !ctx.hasJsonBody) return undefined
  const body = await ctx.json<{ model?: unknown }>()
  return typeof body?.model === 'string' ? body.model : undefined
}
