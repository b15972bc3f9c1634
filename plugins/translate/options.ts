import { assertConfig, checkKnownKeys } from '../../src/index.ts'

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

/** Checks the options once, when the config loads. */
export function resolveTranslateOptions(options: TranslateOptions): ResolvedTranslateOptions {
  assertConfig(typeof options === 'object' && options !== null && !Array.isArray(options), FIELD, "must be an object like { to: 'anthropic' }")
  checkKnownKeys(options, KNOWN, FIELD)
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
