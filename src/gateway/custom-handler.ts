import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ConsolaInstance } from 'consola'
import type { H3Event } from 'h3'
import type { ResolvedHandler } from '../config/types.ts'
import { RequestAbort } from './abort.ts'
import { RequestContext } from './context.ts'
import { firstAnswer, settle, type RoutePipeline } from './pipeline.ts'
import { queryOf, requestPath } from './request-path.ts'
import { ForwardResult, type Outcome } from './result.ts'

/** The status an h3 handler's value will be sent with, as far as it can be known before h3 sends it. */
function statusOf(value: unknown, event: H3Event): number {
  if (value instanceof Response) return value.status
  return event.res.status ?? (value === undefined || value === null ? 204 : 200)
}

/** h3 merges an event's response headers into what a handler returns (its error headers for 4xx/5xx). */
function addHeaders(event: H3Event, headers: Record<string, string>): void {
  for (const name in headers) {
    event.res.headers.set(name, headers[name]!)
    event.res.errHeaders.set(name, headers[name]!)
  }
}

/**
 * Serves one request to a config's own h3 handler with the plugins around it: `onRequest` hooks
 * first (an answer from one, e.g. a 401 from `keys`, is sent instead), then the handler, then the
 * `onResponse` hooks with the status (the body is the handler's business and is not kept).
 */
export async function handleCustom(event: H3Event, req: IncomingMessage, res: ServerResponse, handler: ResolvedHandler, pipeline: RoutePipeline, log: ConsolaInstance): Promise<unknown> {
  const abort = new RequestAbort()
  res.once('close', () => {
    if (!res.writableFinished) abort.abort()
  })
  const ctx = new RequestContext(event, req, pipeline.route, requestPath(event) + queryOf(req), '', abort, log)
  let status = 0
  let outcome: Outcome = 'complete'
  let answeredBy: string | undefined
  let failure: Error | undefined
  try {
    const gate = await firstAnswer(pipeline, ctx)
    if (gate) {
      answeredBy = gate.by
      status = gate.answer.status
      addHeaders(event, ctx.responseHeaders)
      return gate.answer
    }
    const value = await handler.handler(event, ctx)
    status = statusOf(value, event)
    addHeaders(event, ctx.responseHeaders)
    return value
  } catch (error) {
    failure = error as Error
    outcome = 'error'
    status = (error as { status?: number }).status ?? 500
    throw error
  } finally {
    const totalMs = performance.now() - ctx.startedAt
    settle(pipeline, ctx, () => new ForwardResult({
      route: pipeline.route, status, headers: {}, stream: false, outcome, error: failure, attempts: 0, target: undefined, answeredBy,
      timings: { headersMs: undefined, firstByteMs: undefined, totalMs },
      body: undefined, bodyTruncated: false, requestJson: ctx.parsedJson, requestText: ctx.bodyText,
    }))
  }
}
