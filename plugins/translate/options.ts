import { ConfigError, assertConfig } from '../../src/index.ts'

/** The APIs an OpenAI client may be served by. */
export type Provider = 'anthropic' | 'gemini'

/** Options of the `translate` plugin: exactly one of `to` and `from`. */
export interface TranslateOptions {
  /**
   * The API the route's target speaks, for OpenAI clients (chat completions and the model list):
   * `'anthropic'` (Messages API, `target: 'https://api.anthropic.com'`) or `'gemini'`
   * (`generateContent`, `target: 'https://generativelanguage.googleapis.com'`).
   */
  to?: Provider
  /**
   * The API the clients speak, for an OpenAI-compatible target: `'anthropic'` serves Anthropic
   * clients (`POST /v1/messages`) from OpenAI, vLLM, Ollama, LocalAI….
   */
  from?: 'anthropic'
  /**
   * Model names the client uses → the names the target knows, e.g. `{ 'gpt-4o': 'claude-sonnet-4-5' }`.
   * A name not listed goes upstream as the client wrote it.
   */
  models?: Record<string, string>
  /**
   * `max_tokens` sent to Anthropic when the client sets neither `max_tokens` nor
   * `max_completion_tokens` (Anthropic requires one). Default 4096.
   */
  maxTokens?: number
  /** The `anthropic-version` header sent to Anthropic when the client sent none. Default `'2023-06-01'`. */
  anthropicVersion?: string
}

export interface ResolvedTranslateOptions {
  direction: 'to' | 'from'
  provider: Provider
  models: ReadonlyMap<string, string>
  maxTokens: number
  anthropicVersion: string
}

const FIELD = 'plugins.translate'
const KNOWN = ['to', 'from', 'models', 'maxTokens', 'anthropicVersion']

/** Edit distance, for "did you mean" on a misspelled option. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]
}

/** The known name closest to `name`, when one is close enough to be a likely typo. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1
  for (const candidate of known) {
    const d = distance(name, candidate)
    if (d < bestDistance) [best, bestDistance] = [candidate, d]
  }
  return best
}

/** Checks the options once, when the config loads. */
export function resolveTranslateOptions(options: TranslateOptions): ResolvedTranslateOptions {
  assertConfig(typeof options === 'object' && options !== null && !Array.isArray(options), FIELD, "must be an object like { to: 'anthropic' }")
  for (const name of Object.keys(options)) {
    if (KNOWN.includes(name)) continue
    const guess = closest(name, KNOWN)
    throw new ConfigError(`${FIELD}.${name}`, `unknown option${guess ? ` (did you mean \`${guess}\`?)` : ''}; known: ${KNOWN.join(', ')}`)
  }
  const { to, from, models = {}, maxTokens = 4096, anthropicVersion = '2023-06-01' } = options
  assertConfig((to === undefined) !== (from === undefined), FIELD, "needs exactly one of `to: 'anthropic' | 'gemini'` (OpenAI clients) and `from: 'anthropic'` (Anthropic clients)")
  assertConfig(to === undefined || to === 'anthropic' || to === 'gemini', `${FIELD}.to`, `must be 'anthropic' or 'gemini', got ${JSON.stringify(to)}`)
  assertConfig(from === undefined || from === 'anthropic', `${FIELD}.from`, `must be 'anthropic', got ${JSON.stringify(from)}`)
  assertConfig(typeof models === 'object' && models !== null && !Array.isArray(models), `${FIELD}.models`, "must be an object of names, like { 'gpt-4o': 'claude-sonnet-4-5' }")
  for (const [name, target] of Object.entries(models)) {
    assertConfig(typeof target === 'string' && target !== '', `${FIELD}.models.${name}`, `must be a model name, got ${JSON.stringify(target)}`)
  }
  assertConfig(Number.isInteger(maxTokens) && maxTokens > 0, `${FIELD}.maxTokens`, `must be a whole number > 0, got ${JSON.stringify(maxTokens)}`)
  assertConfig(typeof anthropicVersion === 'string' && anthropicVersion !== '', `${FIELD}.anthropicVersion`, `must be a version string like '2023-06-01', got ${JSON.stringify(anthropicVersion)}`)
  return {
    direction: to ? 'to' : 'from',
    provider: (to ?? from)!,
    models: new Map(Object.entries(models)),
    maxTokens,
    anthropicVersion,
  }
}
