import { Readable } from 'node:stream'
import { FastResponse } from 'srvx/node'
import type { OpenAIErrorType } from '../gateway/errors.ts'

type HeaderInit = Record<string, string>

/** A JSON response, for hooks that answer the client themselves. */
export function jsonResponse(status: number, body: unknown, headers: HeaderInit = {}): Response {
  return new FastResponse(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } })
}

/** A response whose body is already text (e.g. JSON or SSE kept serialised by a cache): written as is. */
export function textResponse(status: number, text: string, headers: HeaderInit = {}): Response {
  return new FastResponse(text, { status, headers })
}

/** An error in OpenAI's shape: `{"error":{"message","type","param","code"}}`. */
export function errorResponse(status: number, message: string, type: OpenAIErrorType = 'invalid_request_error', code: string | null = null, headers: HeaderInit = {}): Response {
  return jsonResponse(status, { error: { message, type, param: null, code } }, headers)
}

/**
 * A streamed response (e.g. SSE replayed from a cache) from a Node stream or any (async) iterable of
 * strings or bytes. Streamed to the client as it is produced, never buffered whole.
 */
export function streamResponse(body: Readable | Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>, headers: HeaderInit = {}, status = 200): Response {
  const stream = body instanceof Readable ? body : Readable.from(body, { objectMode: false })
  return new FastResponse(stream as never, { status, headers })
}
