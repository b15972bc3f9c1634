import type { ForwardPlugin } from '../../src/index.ts'

/**
 * Stands in for the `keys` plugin: the caller named in `x-caller` (level in `x-level`), so each
 * test gets counters of its own on one gateway.
 */
export const callerFromHeader: ForwardPlugin = {
  name: 'testCaller',
  onRequest(ctx) {
    const name = ctx.headers['x-caller']
    const level = ctx.headers['x-level']
    if (typeof name === 'string') ctx.caller = { name, level: typeof level === 'string' ? level : undefined }
  },
}

export interface Sent {
  status: number
  headers: Headers
  body: any
}

/** One chat request with plain fetch (status and headers are what these tests look at). */
export async function chat(base: string, caller: string, extra: { model?: string; headers?: Record<string, string>; body?: Record<string, unknown> } = {}): Promise<Sent> {
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-caller': caller, ...extra.headers },
    body: JSON.stringify({ model: extra.model ?? 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], ...extra.body }),
  })
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: response.status, headers: response.headers, body }
}

/** Sends `n` requests at once; resolves with every answer. */
export function burst(n: number, send: () => Promise<Sent>): Promise<Sent[]> {
  return Promise.all(Array.from({ length: n }, send))
}

export const statuses = (answers: Sent[]) => answers.map((a) => a.status)
export const count = (answers: Sent[], status: number) => answers.filter((a) => a.status === status).length
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Probes a '5/2seconds' limit around the edge of its first window: 1 request at 0 s (opens a fixed
 * window), 4 at 1.6 s, then 5 at 2.3 s (after a fixed window's reset, while the 4 are still
 * inside a sliding one). Returns how many of the last 5 passed: 1 for a moving window, 5 for a fixed one.
 */
export async function edgeBurst(send: () => Promise<Sent>): Promise<{ first: number[]; before: number[]; after: number[] }> {
  const start = Date.now()
  const first = statuses([await send()])
  await sleep(1600 - (Date.now() - start))
  const before = statuses(await burst(4, send))
  await sleep(2300 - (Date.now() - start))
  const after = statuses(await burst(5, send))
  return { first, before, after }
}
