import { assertConfig, checkKnownKeys, ConfigError, parseRate } from '../../src/index.ts'
import type { Rate, RequestFacts } from '../rateLimit/rules.ts'

/** Output pacing per model, level or caller. */
export interface PaceOptions {
  /** Tokens per period streamed to every client, e.g. `'60/second'`. */
  rate?: Rate
  /** Per model (`'gpt-4o'`, or a prefix `'gpt-4o*'`); applies together with the caller's rate (the slower one wins). */
  models?: Record<string, Rate>
  /** Replaces `rate` for callers at a level (set by the `keys` plugin). */
  levels?: Record<string, Rate>
  /** Replaces `rate` (and `levels`) for one caller by name. */
  callers?: Record<string, Rate>
}

/** Milliseconds per token, from a rate like `"60/second"`. */
function msPerToken(value: unknown, field: string): number {
  assertConfig(typeof value === 'string', field, `must be a rate like "60/second", got ${JSON.stringify(value)}`)
  let items
  try {
    items = parseRate(value)
  } catch (error) {
    throw new ConfigError(field, (error as Error).message)
  }
  assertConfig(items.length === 1, field, 'must be a single rate like "60/second" (pacing has one speed)')
  return items[0].windowMs / items[0].amount
}

function table(value: unknown, field: string): Map<string, number> {
  if (value === undefined) return new Map()
  assertConfig(typeof value === 'object' && value !== null && !Array.isArray(value), field, 'must be an object of name → rate, like { "gpt-4o": "60/second" }')
  return new Map(Object.entries(value).map(([name, rate]) => [name, msPerToken(rate, `${field}.${name}`)]))
}

/** The pacing rules, checked once; `msPerToken(facts)` picks a request's speed. */
export class PacePlan {
  readonly #default: number | undefined
  readonly #models: Map<string, number>
  readonly #levels: Map<string, number>
  readonly #callers: Map<string, number>
  readonly needsModel: boolean

  constructor(options: Rate | PaceOptions, field: string) {
    const settings = typeof options === 'string' ? { rate: options } : options
    assertConfig(typeof settings === 'object' && settings !== null, field, 'must be a rate like "60/second" or { rate, models, levels, callers }')
    checkKnownKeys(settings, ['rate', 'models', 'levels', 'callers'], field, { limit: 'rate' })
    this.#default = settings.rate === undefined ? undefined : msPerToken(settings.rate, `${field}.rate`)
    this.#models = table(settings.models, `${field}.models`)
    this.#levels = table(settings.levels, `${field}.levels`)
    this.#callers = table(settings.callers, `${field}.callers`)
    this.needsModel = this.#models.size > 0
    assertConfig(this.#default !== undefined || this.#models.size + this.#levels.size + this.#callers.size > 0, field, 'sets no rate')
  }

  /** The request's pace in ms per token, or `undefined` when it is not paced. */
  msPerToken(facts: RequestFacts): number | undefined {
    const tier = (facts.caller !== undefined ? this.#callers.get(facts.caller) : undefined)
      ?? (facts.level !== undefined ? this.#levels.get(facts.level) : undefined)
      ?? this.#default
    let model: number | undefined
    if (facts.model !== undefined) {
      for (const [pattern, ms] of this.#models) {
        if (pattern.endsWith('*') ? facts.model.startsWith(pattern.slice(0, -1)) : facts.model === pattern) {
          model = Math.max(model ?? 0, ms)
        }
      }
    }
    if (tier === undefined) return model
    return model === undefined ? tier : Math.max(tier, model)
  }

  describe(): string {
    const parts: string[] = []
    if (this.#default !== undefined) parts.push(`${Math.round(1000 / this.#default)} tokens/s`)
    const rules = this.#models.size + this.#levels.size + this.#callers.size
    if (rules) parts.push(`${rules} pacing rule(s)`)
    return `paced ${parts.join(' + ')}`
  }
}
