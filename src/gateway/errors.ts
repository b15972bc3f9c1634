/** OpenAI's error types, as clients expect them in `error.type`. */
export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'upstream_error'

/**
 * An error the gateway answers with, in OpenAI's error JSON shape. `code` is stable, so clients and
 * tests can rely on it (Fastify-style error codes).
 */
export class ForwardError extends Error {
  override name = 'ForwardError'
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAIErrorType = 'api_error',
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }

  /** `{"error":{"message","type","param","code"}}`, OpenAI's error body. */
  toJSON(): { error: { message: string; type: string; param: null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: null, code: this.code } }
  }
}

/** Is this error the normal end of a request whose client went away? */
export function isAbort(error: unknown): boolean {
  const e = error as { name?: string; code?: string } | undefined
  return e?.name === 'AbortError' || e?.code === 'UND_ERR_ABORTED' || e?.code === 'ABORT_ERR'
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED',
])

/** Turns an upstream failure (undici error) into the error the client sees. */
export function upstreamFailure(error: unknown, timeouts: { connect: number; headers: number; idle: number }): ForwardError {
  if (error instanceof ForwardError) return error
  const e = error as { code?: string; message?: string; cause?: { code?: string } }
  const code = e?.code ?? e?.cause?.code
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new ForwardError(504, `Upstream connect timeout: no connection within ${timeouts.connect} ms`, 'timeout_error', 'upstream_connect_timeout')
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new ForwardError(504, `Upstream headers timeout: no response within ${timeouts.headers} ms`, 'timeout_error', 'upstream_headers_timeout')
    case 'UND_ERR_BODY_TIMEOUT':
      return new ForwardError(504, `Upstream idle timeout: no data for ${timeouts.idle} ms`, 'timeout_error', 'upstream_idle_timeout')
    case 'AIFD_TOTAL_TIMEOUT':
      return new ForwardError(504, e.message ?? 'Upstream total timeout', 'timeout_error', 'upstream_total_timeout')
  }
  if (code && CONNECT_CODES.has(code)) {
    return new ForwardError(502, `Upstream unreachable (${code})`, 'upstream_error', 'upstream_unreachable')
  }
  return new ForwardError(502, `Upstream request failed: ${e?.message ?? String(error)}`, 'upstream_error', 'upstream_error')
}
