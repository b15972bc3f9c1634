import { ofetch, type FetchResponse } from 'ofetch'
import type { RunningGateway } from '../index.ts'

/** What the playground posts: a request to send through one route of the gateway. */
interface PlaygroundRequest {
  route: string
  /** Path under the route, e.g. `/v1/chat/completions`. */
  path: string
  /** The API key or forward key the user typed; sent as the gateway's clients send it. */
  apiKey?: string
  body: unknown
}

/**
 * Sends the playground's request through the gateway's public listener, as any client would (so
 * every plugin applies), and streams the answer back. Proxied here so the page needs no CORS and only
 * talks to its own origin. The key the user typed is passed on and never stored.
 */
export async function playgroundProxy(running: RunningGateway, input: PlaygroundRequest, signal: AbortSignal): Promise<Response> {
  const route = running.gateway.config.routes.find((r) => r.name === input?.route)
  if (!route) return Response.json({ error: { message: `no route named ${JSON.stringify(input?.route)}` } }, { status: 400 })
  if (typeof input.path !== 'string' || !input.path.startsWith('/') || input.path.includes('..')) {
    return Response.json({ error: { message: 'path must start with / (e.g. /v1/chat/completions)' } }, { status: 400 })
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (input.apiKey) {
    headers.authorization = `Bearer ${input.apiKey}`
    if (route.dialect === 'anthropic') headers['x-api-key'] = input.apiKey
  }
  let answer: FetchResponse<ReadableStream<Uint8Array>>
  try {
    // ofetch serialises the body, never retries a POST, and hands the answer over as a stream.
    answer = await ofetch.raw(`${running.url}${route.prefix}${input.path}`, {
      method: 'POST', headers, body: JSON.stringify(input.body), signal, responseType: 'stream', ignoreResponseError: true, retry: 0,
    })
  } catch (error) {
    return Response.json({ error: { message: `the gateway could not be reached: ${(error as Error).message}` } }, { status: 502 })
  }
  return new Response(answer._data ?? null, {
    status: answer.status,
    headers: { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream', 'cache-control': 'no-cache' },
  })
}
