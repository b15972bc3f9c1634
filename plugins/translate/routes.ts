import type { ForwardContext } from '../../src/index.ts'

/** What an OpenAI client's request asks for, as far as the translation is concerned. */
export type OpenAIEndpoint = { kind: 'chat' } | { kind: 'models' } | { kind: 'model'; id: string } | { kind: 'other'; path: string }

function pathOf(upstreamPath: string): string {
  const q = upstreamPath.indexOf('?')
  return q === -1 ? upstreamPath : upstreamPath.slice(0, q)
}

/** Which endpoint of OpenAI's API a request is for (with or without the `/v1` of the base URL). */
export function openaiEndpoint(ctx: ForwardContext): OpenAIEndpoint {
  const path = pathOf(ctx.upstreamPath).replace(/\/+$/, '')
  if (ctx.method === 'POST' && /(^|\/)chat\/completions$/.test(path)) return { kind: 'chat' }
  if (ctx.method === 'GET' && /(^|\/)models$/.test(path)) return { kind: 'models' }
  const model = ctx.method === 'GET' ? /(?:^|\/)models\/([^/]+)$/.exec(path) : null
  if (model) {
    let id = model[1]
    try {
      id = decodeURIComponent(id)
    } catch {}
    return { kind: 'model', id }
  }
  return { kind: 'other', path }
}
