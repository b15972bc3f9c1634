/** A model's price, in US dollars. Token prices are per million tokens. */
export interface ModelPrice {
  /** Prompt (input) tokens, per 1M. */
  input: number
  /** Prompt tokens read from the provider's prompt cache, per 1M. Default: `input`. */
  cachedInput?: number
  /** Prompt tokens written to the provider's prompt cache (Anthropic), per 1M. Default: `input`. */
  cacheWrite?: number
  /** Answer (output) tokens, reasoning included, per 1M. */
  output: number
  /** A fixed price per request (a search call, an image), added to the tokens' price. Default 0. */
  request?: number
}

/** What one exchange cost. */
export interface Cost {
  /** The model it was priced as (the answer's model when it has a price, else the request's). */
  model: string | undefined
  /** US dollars; `null` when the model has no price (`unpriced`). */
  usd: number | null
  /** The same in nano-dollars (10⁻⁹ $), an integer: what budgets count in. `null` when unpriced. */
  nanoUsd: number | null
  /** The model has no price in the table: nothing was priced (never silently 0). */
  unpriced: boolean
  /** The usage was counted by the gateway (tiktoken), not reported by the upstream: so is the cost. */
  estimated: boolean
  /** The price-table entry that matched (`'gpt-4o'`, `'gpt-4o-20*'`), if any. */
  priceKey: string | undefined
}
