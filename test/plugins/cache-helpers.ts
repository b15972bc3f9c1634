// Shared by the cache plugin's test files.
import OpenAI from 'openai'
import type { MockUpstream } from '../../playground/mock/server.ts'
import type { ForwardPlugin } from '../../src/index.ts'

export const KEY = 'sk-test-cache'

export function sdk(url: string, apiKey = KEY): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 })
}

export const chat = (content: string, extra: Record<string, unknown> = {}): any => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra })

/** A raw POST, for byte-level checks the SDK would hide. */
export function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  })
}

/** The `data:` payloads of an SSE body, JSON-parsed except `[DONE]`. */
export function sseData(text: string): any[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).find((line) => line.startsWith('data: ')))
    .filter((line): line is string => line !== undefined)
    .map((line) => line.slice(6))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)))
}

/** Requests the mock got on one of its routes (e.g. `chat.completions`). */
export function seen(mock: MockUpstream, route = 'chat.completions') {
  return mock.requests.filter((r) => r.route === route)
}

export interface StreamedAnswer {
  content: string
  reasoning: string
  toolCalls: Array<{ id: string; name: string; arguments: string }>
  finishReason: string | null
  usage: any
  chunks: any[]
}

/** Assembles a chat stream as a client would (from SDK chunks or parsed `data:` payloads). */
export async function assemble(chunks: AsyncIterable<any> | any[]): Promise<StreamedAnswer> {
  const answer: StreamedAnswer = { content: '', reasoning: '', toolCalls: [], finishReason: null, usage: undefined, chunks: [] }
  for await (const chunk of chunks as AsyncIterable<any>) {
    if (chunk === '[DONE]') continue
    answer.chunks.push(chunk)
    if (chunk.usage) answer.usage = chunk.usage
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta ?? {}
      if (typeof delta.content === 'string') answer.content += delta.content
      if (typeof delta.reasoning_content === 'string') answer.reasoning += delta.reasoning_content
      for (const call of delta.tool_calls ?? []) {
        const at = (answer.toolCalls[call.index] ??= { id: '', name: '', arguments: '' })
        if (call.id) at.id = call.id
        if (call.function?.name) at.name += call.function.name
        if (call.function?.arguments) at.arguments += call.function.arguments
      }
      if (choice.finish_reason) answer.finishReason = choice.finish_reason
    }
  }
  return answer
}

/** Sets `ctx.caller` from the `x-tenant` header, as an auth plugin would; goes before `cache`. */
export const who: ForwardPlugin = {
  name: 'who',
  onRequest(ctx) {
    const tenant = ctx.headers['x-tenant']
    if (typeof tenant === 'string') ctx.caller = { name: tenant }
  },
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function until(condition: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await sleep(10)
  }
}
