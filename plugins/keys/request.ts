import type { ForwardContext } from '../../src/index.ts'

function pathOf(ctx: ForwardContext): string {
  const q = ctx.upstreamPath.indexOf('?')
  return q === -1 ? ctx.upstreamPath : ctx.upstreamPath.slice(0, q)
}

/** `/v1/models/gpt-4o`, `/v1beta/models/gemini-2.0-flash:generateContent` → the model's name. */
function modelInPath(path: string): string | undefined {
  const match = /\/models\/([^/:]+)/.exec(path)
  if (!match) return undefined
  try {
    return decodeURIComponent(match[1])
  } catch {
    return match[1]
  }
}

/**
 * The model a request asks for: the JSON body's `model`, else a model named in the path (Gemini,
 * `GET /v1/models/{id}`), or the `model` query parameter (Realtime). `undefined` when it names none (a model list, files, a multipart upload).
 */
export async function requestModel(ctx: ForwardContext): Promise<string | undefined> {
  const gemini = ctx.route.type === 'general' && ctx.route.dialect === 'gemini'
  if (ctx.hasJsonBody && !gemini) {
    const body = await ctx.json<{ model?: unknown }>()
    if (typeof body?.model === 'string') return body.model
  }
  const path = pathOf(ctx)
  if (ctx.route.type === 'openai' && path.length < ctx.upstreamPath.length) {
    // The Realtime API names its model in the query: `/v1/realtime?model=…`.
    const model = new URLSearchParams(ctx.upstreamPath.slice(path.length + 1)).get('model')
    if (model) return model
  }
  return modelInPath(path)
}

/** A request for the list of models (`GET …/models`), whose answer a level's restrictions filter. */
export function isModelList(ctx: ForwardContext): boolean {
  return ctx.method === 'GET' && /\/models\/?$/.test(pathOf(ctx))
}
