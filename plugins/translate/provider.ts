import type { UpstreamAttempt } from '../../src/index.ts'
import type { Provider, ResolvedTranslateOptions } from './options.ts'
import type { StreamMapper } from './stream-mapper.ts'

/** What one chat request needs to know to map its answer back. */
export interface ChatPlan {
  /** The client's request (OpenAI's shape), as the upstream call was made from it. */
  body: any
  /** The model name the provider was asked for. */
  model: string
  /** End a stream with the usage chunk (`stream_options.include_usage`). */
  usage: boolean
}

/** One provider's side of the translation for OpenAI clients: where requests go and how each part maps. */
export interface ProviderAdapter {
  readonly name: Provider
  /** Upstream path (and query) of a chat request. */
  chatPath(model: string, stream: boolean): string
  /** Upstream path of the model list, or of one model. */
  modelsPath(id: string | undefined): string
  /** The provider's request body for an OpenAI chat completion request; throws a `TranslateError` (400). */
  request(body: any, options: ResolvedTranslateOptions): Record<string, unknown>
  /** Puts the key where the provider wants it (a `Bearer` key moves there) and returns it, for scrubbing. */
  credential(attempt: UpstreamAttempt, options: ResolvedTranslateOptions): string | undefined
  /** The provider's JSON answer as an OpenAI `chat.completion`. */
  completion(answer: any, plan: ChatPlan): Record<string, unknown>
  /** A mapper for the provider's stream. */
  stream(plan: ChatPlan): StreamMapper
}

/** The key of `Authorization: Bearer <key>`, which is then removed from the attempt. */
export function takeBearer(attempt: UpstreamAttempt): string | undefined {
  const value = attempt.headers.authorization
  if (value === undefined) return undefined
  // Unset rather than `delete`d: a deleted key turns the headers object into a slow dictionary.
  attempt.headers.authorization = undefined
  const match = typeof value === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null
  return match?.[1]
}
