import type { ConsolaInstance } from 'consola'
import type { H3Event, HTTPError } from 'h3'
import { ForwardError } from './errors.ts'

/** An h3 error (or any thrown value) as OpenAI's error shape; 404s name the path. */
export function asForwardError(error: HTTPError, event: H3Event, log: ConsolaInstance): ForwardError {
  const cause = error.cause
  if (cause instanceof ForwardError) return cause
  if (error.status === 404 && error.unhandled !== true) return new ForwardError(404, `No route for ${event.url.pathname}`, 'invalid_request_error', 'route_not_found')
  if (error.unhandled) {
    log.error(`${event.req.method} ${event.url.pathname}: a handler threw:`, cause ?? error)
    return new ForwardError(500, 'Internal gateway error', 'api_error', 'internal_error')
  }
  const type = error.status === 401 ? 'authentication_error' : error.status === 403 ? 'permission_error' : error.status === 429 ? 'rate_limit_error' : error.status >= 500 ? 'api_error' : 'invalid_request_error'
  return new ForwardError(error.status, error.message, type, null)
}

