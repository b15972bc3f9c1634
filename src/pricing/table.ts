import type { Usage } from '../gateway/assemble.ts'
import type { Cost, ModelPrice } from './types.ts'

/** A price as counted: nano-dollars per token (prices per 1M tokens × 1000), and per request. */
interface Rates {
  key: string
  input: number
  cachedInput: number
  cacheWrite: number
  output: number
  request: number
}

/** Distinct model names remembered with their price; past this the memo starts over. */
const LOOKUPS_KEPT = 2000

function ratesOf(key: string, price: ModelPrice): Rates {
  return {
    key,
    input: price.input * 1000,
    cachedInput: (price.cachedInput ?? price.input) * 1000,
    cacheWrite: (price.cacheWrite ?? price.input) * 1000,
    output: price.output * 1000,
    request: (price.request ?? 0) * 1e9,
  }
}

/**
 * Prices per model: exact names, and patterns ending in `*` that match by prefix (the longest
 * matching pattern wins; an exact name beats every pattern). One per loaded config; lookups are
 * remembered, since a gateway sees few distinct models.
 */
export class PriceTable {
  readonly #exact = new Map<string, Rates>()
  /** Longest prefix first. */
  readonly #patterns: Array<{ prefix: string; rates: Rates }> = []
  readonly #lookups = new Map<string, Rates | null>()
  readonly #warned = new Set<string>()

  constructor(readonly entries: Readonly<Record<string, ModelPrice>>) {
    for (const [key, price] of Object.entries(entries)) {
      if (key.endsWith('*')) this.#patterns.push({ prefix: key.slice(0, -1), rates: ratesOf(key, price) })
      else this.#exact.set(key, ratesOf(key, price))
    }
    this.#patterns.sort((a, b) => b.prefix.length - a.prefix.length)
  }

  /** The entry (name or pattern) that prices `model`, or `undefined`. */
  #rates(model: string): Rates | undefined {
    let rates = this.#lookups.get(model)
    if (rates === undefined) {
      rates = this.#exact.get(model) ?? this.#patterns.find((p) => model.startsWith(p.prefix))?.rates ?? null
      // Providers prefix names in places: Gemini's `models/gemini-2.5-flash`, OpenRouter-style `openai/gpt-4o`.
      if (rates === null && model.includes('/')) rates = this.#rates(model.slice(model.lastIndexOf('/') + 1)) ?? null
      if (this.#lookups.size >= LOOKUPS_KEPT) this.#lookups.clear()
      this.#lookups.set(model, rates)
    }
    return rates ?? undefined
  }

  /** Whether `model` has a price. */
  has(model: string): boolean {
    return this.#rates(model) !== undefined
  }

  /** The price of `model` as configured, and the entry that matched; `undefined` when it has none. */
  priceOf(model: string): { key: string; price: ModelPrice } | undefined {
    const rates = this.#rates(model)
    return rates && { key: rates.key, price: this.entries[rates.key] }
  }

  /**
   * Nano-dollars for `promptTokens` in and `outputTokens` out at `model`'s price (no cache
   * discount: a worst case, as budgets reserve it), or `undefined` when the model has no price.
   */
  worstCaseNano(model: string, promptTokens: number, outputTokens: number): number | undefined {
    const rates = this.#rates(model)
    if (!rates) return undefined
    return Math.ceil(promptTokens * Math.max(rates.input, rates.cacheWrite) + outputTokens * rates.output + rates.request)
  }

  /**
   * What `usage` cost at the price of `models[0]`, else of the next name that has one (an
   * answer's dated model, then the requested one). Unpriced when none has a price.
   */
  cost(usage: Usage, ...models: Array<string | undefined>): Cost {
    const named = models.filter((m): m is string => typeof m === 'string' && m !== '')
    for (const model of named) {
      const rates = this.#rates(model)
      if (!rates) continue
      const cached = Math.min(usage.cachedTokens ?? 0, usage.promptTokens)
      const written = Math.min(usage.cacheWriteTokens ?? 0, usage.promptTokens - cached)
      const plain = usage.promptTokens - cached - written
      const nano = Math.round(plain * rates.input + cached * rates.cachedInput + written * rates.cacheWrite + usage.completionTokens * rates.output + rates.request)
      return { model, usd: nano / 1e9, nanoUsd: nano, unpriced: false, estimated: usage.estimated, priceKey: rates.key }
    }
    return { model: named.at(-1), usd: null, nanoUsd: null, unpriced: true, estimated: usage.estimated, priceKey: undefined }
  }

  /** True the first time `model` is reported unpriced by this table: one warning per model. */
  firstUnpriced(model: string | undefined): boolean {
    const name = model ?? '(no model)'
    if (this.#warned.has(name) || this.#warned.size >= LOOKUPS_KEPT) return false
    this.#warned.add(name)
    return true
  }
}
