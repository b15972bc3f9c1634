import { Readable } from 'node:stream'

/** A response ready to write to Node: status, headers, and a body that is text, bytes or a stream. */
export interface NodeAnswer {
  status: number
  headers: Record<string, string | string[]>
  body: string | Uint8Array | Readable | null
}

type FastResponseLike = Response & { _toNodeResponse?: () => { status: number; headers: string[]; body: unknown } }

/**
 * Flattens a hook's `Response` for writing to the Node response. The helpers (`jsonResponse`, …)
 * make srvx FastResponses, whose parts are read without going through web streams.
 */
export function fromWebResponse(response: Response): NodeAnswer {
  const fast = response as FastResponseLike
  if (typeof fast._toNodeResponse === 'function') {
    const node = fast._toNodeResponse()
    const headers: Record<string, string | string[]> = {}
    for (let i = 0; i < node.headers.length; i += 2) headers[node.headers[i]] = node.headers[i + 1]
    const body = node.body
    if (body instanceof ReadableStream) return { status: node.status, headers, body: Readable.fromWeb(body as never) }
    return { status: node.status, headers, body: (body ?? null) as NodeAnswer['body'] }
  }
  const headers: Record<string, string | string[]> = {}
  response.headers.forEach((value, name) => (headers[name] = value))
  return { status: response.status, headers, body: response.body ? Readable.fromWeb(response.body as never) : null }
}
