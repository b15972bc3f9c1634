import { ForwardError, type OpenAIErrorType } from '../../src/index.ts'
import type { Provider } from './options.ts'

const PROVIDER_NAMES: Record<Provider, string> = { anthropic: 'Anthropic', gemini: 'Gemini' }

/**
 * A request the translation cannot express: a 400 in OpenAI's error shape whose `param` names the
 * field. Thrown by the request mappings; the kernel answers it as it is.
 */
export class TranslateError extends ForwardError {
  constructor(message: string, readonly param: string | null, code = 'unsupported_parameter', status = 400, type: OpenAIErrorType = 'invalid_request_error') {
    super(status, message, type, code)
  }

  override toJSON(): { error: { message: string; type: string; param: null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param as null, code: this.code } }
  }
}

/** `field` has no equivalent at `provider`. */
export function unsupported(provider: Provider, field: string, what = `\`${field}\``): TranslateError {
  return new TranslateError(`${what} cannot be translated to ${PROVIDER_NAMES[provider]}'s API; remove it from the request`, field)
}

/** `field` holds a value the translation does not understand. */
export function invalid(field: string, problem: string): TranslateError {
  return new TranslateError(`\`${field}\` ${problem}`, field, 'invalid_value')
}

/** Anthropic's error types → OpenAI's (the Anthropic type becomes `code`). */
export const ANTHROPIC_ERROR_TYPES: Readonly<Record<string, OpenAIErrorType>> = {
  invalid_request_error: 'invalid_request_error',
  request_too_large: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  billing_error: 'permission_error',
  not_found_error: 'not_found_error',
  rate_limit_error: 'rate_limit_error',
  timeout_error: 'timeout_error',
  api_error: 'api_error',
  overloaded_error: 'api_error',
}

/** An HTTP status → OpenAI's error type, for providers whose errors carry no type of ours. */
export function typeOfStatus(status: number): OpenAIErrorType {
  if (status === 401) return 'authentication_error'
  if (status === 403) return 'permission_error'
  if (status === 404) return 'not_found_error'
  if (status === 429) return 'rate_limit_error'
  if (status === 408 || status === 504) return 'timeout_error'
  return status < 500 ? 'invalid_request_error' : 'api_error'
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

/** Cuts a secret out of a provider's message (a key is never echoed back to a client). */
function scrub(message: string, secret: string | undefined): string {
  return secret && secret.length >= 8 ? message.split(secret).join('***') : message
}

/**
 * A provider's error body (Anthropic `{type:'error',error:{type,message}}`, Gemini
 * `{error:{code,message,status}}`) in OpenAI's shape; the provider's message is kept, `secret`
 * (the key that was sent) never is.
 */
export function providerError(provider: Provider, status: number, text: string, secret?: string): OpenAIErrorBody {
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  const error = body?.error
  const name = PROVIDER_NAMES[provider]
  const message = scrub(typeof error?.message === 'string' ? error.message : text.trim() ? `${name} answered HTTP ${status}: ${text.trim().slice(0, 500)}` : `${name} answered HTTP ${status}`, secret)
  if (provider === 'anthropic') {
    const kind = typeof error?.type === 'string' ? error.type : undefined
    return { error: { message, type: (kind && ANTHROPIC_ERROR_TYPES[kind]) ?? typeOfStatus(status), param: null, code: kind ?? null } }
  }
  const code = typeof error?.status === 'string' ? error.status.toLowerCase() : null
  return { error: { message, type: typeOfStatus(status), param: null, code } }
}

/** An OpenAI-shaped error (the gateway's or an OpenAI-compatible target's) in Anthropic's shape. */
export function anthropicError(status: number, text: string): { type: 'error'; error: { type: string; message: string } } {
  let body: any
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  const error = body?.error
  const message = typeof error?.message === 'string' ? error.message : typeof error === 'string' ? error : `The upstream answered HTTP ${status}`
  const type = status === 400 || status === 422 ? 'invalid_request_error'
    : status === 401 ? 'authentication_error'
    : status === 403 ? 'permission_error'
    : status === 404 ? 'not_found_error'
    : status === 413 ? 'request_too_large'
    : status === 429 ? 'rate_limit_error'
    : status === 529 || status === 503 ? 'overloaded_error'
    : 'api_error'
  return { type: 'error', error: { type, message } }
}
