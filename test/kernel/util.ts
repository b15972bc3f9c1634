// Small helpers shared by the kernel tests (not a test file itself).
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import OpenAI from 'openai'
import type { MockRequestRecord, MockUpstream } from '../../playground/mock/server.ts'

export const KEY = 'sk-test'

/** The official SDK pointed at a gateway, without retries. */
export function sdk(gatewayUrl: string, extra: ConstructorParameters<typeof OpenAI>[0] = {}): OpenAI {
  return new OpenAI({ baseURL: `${gatewayUrl}/v1`, apiKey: KEY, maxRetries: 0, ...extra })
}

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  text: string
  json(): any
}

/**
 * A raw HTTP/1.1 request with the path exactly as given (fetch would normalise it) and any headers,
 * including hop-by-hop ones. `chunks` are written one by one (chunked encoding unless a length is set).
 */
export function raw(base: string, method: string, path: string, options: { headers?: OutgoingHttpHeaders; body?: string | Buffer; chunks?: Array<string | Buffer> } = {}): Promise<RawResponse> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: options.headers, agent: false }, (res) => {
      const parts: Buffer[] = []
      res.on('data', (c: Buffer) => parts.push(c))
      res.on('end', () => {
        const body = Buffer.concat(parts)
        const text = body.toString('utf8')
        resolve({ status: res.statusCode!, headers: res.headers, body, text, json: () => JSON.parse(text) })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    if (options.chunks) {
      for (const chunk of options.chunks) req.write(chunk)
      req.end()
    } else {
      req.end(options.body)
    }
  })
}

/** Polls `cond` until it holds or `ms` pass; returns whether it held. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 2000, step = 10): Promise<boolean> {
  const end = Date.now() + ms
  for (;;) {
    if (await cond()) return true
    if (Date.now() > end) return false
    await sleep(step)
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** The most recent request the mock recorded (fails the test when there is none). */
export function lastRecord(mock: MockUpstream): MockRequestRecord {
  const rec = mock.requests.at(-1)
  if (!rec) throw new Error('the mock received no request')
  return rec
}

/** `data:` payloads of an SSE body (JSON-parsed except [DONE]). */
export function sseData(text: string): any[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).find((l) => l.startsWith('data:')))
    .filter((l): l is string => !!l)
    .map((l) => l.slice(l[5] === ' ' ? 6 : 5))
    .map((d) => (d === '[DONE]' ? d : JSON.parse(d)))
}

/** A chat completion body with one user message. */
export function chat<const E extends Record<string, unknown> = {}>(content: string, extra?: E): { model: string; messages: Array<{ role: 'user'; content: string }> } & E {
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...(extra as E) }
}

/** OpenAI's error shape, as every gateway error must have it. */
export function expectOpenAIError(body: any): { message: string; type: string; param: null; code: string | null } {
  if (!body || typeof body !== 'object' || !body.error) throw new Error(`not an OpenAI error body: ${JSON.stringify(body)}`)
  const keys = Object.keys(body.error).sort()
  if (JSON.stringify(keys) !== JSON.stringify(['code', 'message', 'param', 'type'])) throw new Error(`error keys are ${keys.join(',')}`)
  if (typeof body.error.message !== 'string' || !body.error.message) throw new Error('error.message is empty')
  return body.error
}
