import { invalid, TranslateError, unsupported } from './errors.ts'
import type { Provider } from './options.ts'

/** Fields of a chat completion request that change nothing the provider sees (or are the gateway's). */
const IGNORED = new Set(['stream_options', 'store', 'metadata', 'service_tier', 'caching', 'prompt_cache_key', 'safety_identifier', 'user'])

/**
 * Fields that may only keep their do-nothing value: anything else cannot be expressed and is
 * refused with the field named, never dropped.
 */
const NEUTRAL: Partial<Record<string, (value: unknown) => boolean>> = {
  n: (v) => v === 1,
  logprobs: (v) => v === false,
  top_logprobs: (v) => v === 0,
  logit_bias: (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0,
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
  modalities: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text',
}

/** Fields no provider here has. */
const NEVER = new Set(['audio', 'prediction', 'web_search_options', 'functions', 'function_call', 'verbosity'])

/** The fields each provider's request mapping reads. */
const MAPPED: Record<Provider, ReadonlySet<string>> = {
  anthropic: new Set(['model', 'messages', 'stream', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'reasoning_effort']),
  gemini: new Set(['model', 'messages', 'stream', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'tools', 'tool_choice', 'parallel_tool_calls', 'response_format', 'reasoning_effort', 'n', 'seed', 'presence_penalty', 'frequency_penalty']),
}

/**
 * Refuses a chat completion request the provider's API cannot express: a 400 naming the first such
 * field. Null and absent values are alike.
 */
export function checkChatFields(provider: Provider, body: unknown): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new TranslateError('The request body must be a JSON object', null, 'invalid_request')
  const mapped = MAPPED[provider]
  for (const [name, value] of Object.entries(body)) {
    if (value === null || value === undefined || mapped.has(name) || IGNORED.has(name)) continue
    const neutral = NEUTRAL[name]
    if (neutral?.(value)) continue
    if (neutral || NEVER.has(name)) throw unsupported(provider, name, `\`${name}\`: ${JSON.stringify(value)}`)
    throw new TranslateError(`Unrecognized request argument supplied: ${name}`, name, 'unknown_parameter')
  }
  const { model, messages } = body as { model?: unknown; messages?: unknown }
  if (typeof model !== 'string' || model === '') throw invalid('model', 'must be a model name')
  if (!Array.isArray(messages) || messages.length === 0) throw invalid('messages', 'must be a non-empty list of messages')
}
