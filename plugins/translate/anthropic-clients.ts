import { countChatTokens, jsonResponse, requestSlot, type ForwardContext, type ForwardPlugin, type UpstreamAttempt, type UpstreamResponse } from '../../src/index.ts'
import { mapJson, mapStream } from './body.ts'
import { anthropicError, TranslateError } from './errors.ts'
import { openaiRequest } from './from-anthropic/request.ts'
import { anthropicMessage } from './from-anthropic/response.ts'
import { OpenAIStream } from './from-anthropic/stream.ts'
import { anthropicModel, anthropicModelList } from './models.ts'
import type { ResolvedTranslateOptions } from './options.ts'
import { takeBearer } from './provider.ts'

/** What an Anthropic client's request asks for. */
type Endpoint = { kind: 'messages' } | { kind: 'count' } | { kind: 'models' } | { kind: 'model'; id: string } | { kind: 'other'; path: string }

interface Exchange {
  endpoint: Endpoint
  /** The OpenAI request body, made once (retries send it again). */
  sent?: string
}

/** Headers only Anthropic understands: they stay with the client. */
const ANTHROPIC_HEADERS = ['anthropic-version', 'anthropic-beta', 'anthropic-dangerous-direct-browser-access']

function endpointOf(ctx: ForwardContext): Endpoint {
  const q = ctx.upstreamPath.indexOf('?')
  const path = (q === -1 ? ctx.upstreamPath : ctx.upstreamPath.slice(0, q)).replace(/\/+$/, '')
  if (ctx.method === 'POST' && /(^|\/)messages$/.test(path)) return { kind: 'messages' }
  if (ctx.method === 'POST' && /(^|\/)messages\/count_tokens$/.test(path)) return { kind: 'count' }
  if (ctx.method === 'GET' && /(^|\/)models$/.test(path)) return { kind: 'models' }
  const model = ctx.method === 'GET' ? /(?:^|\/)models\/([^/]+)$/.exec(path) : null
  if (model) return { kind: 'model', id: decodeURIComponent(model[1]) }
  return { kind: 'other', path }
}

/** An error in Anthropic's shape. */
function anthropicErrorResponse(status: number, type: string, message: string): Response {
  return jsonResponse(status, { type: 'error', error: { type, message } })
}

/**
 * `translate({ from: 'anthropic' })`: Anthropic clients (`POST /v1/messages`, the model list) served
 * by an OpenAI-compatible target. The route is `type: 'general', dialect: 'anthropic'`, so the other
 * plugins read the exchange in Anthropic's shape, which is what the client sends and gets.
 */
export function anthropicClients(options: ResolvedTranslateOptions): ForwardPlugin {
  const exchanges = requestSlot<Exchange>('translate')

  async function onRequest(ctx: ForwardContext): Promise<Response | void> {
    const endpoint = endpointOf(ctx)
    if (endpoint.kind === 'other') return anthropicErrorResponse(404, 'not_found_error', `translate: ${ctx.method} ${endpoint.path} has no OpenAI counterpart (only messages, count_tokens and the model list are translated)`)
    const exchange: Exchange = { endpoint }
    if (endpoint.kind === 'messages' || endpoint.kind === 'count') {
      const body = await ctx.json()
      let request: Record<string, unknown>
      try {
        // count_tokens carries no max_tokens.
        request = openaiRequest(endpoint.kind === 'count' ? { max_tokens: 1, ...body } : body, options)
      } catch (error) {
        if (error instanceof TranslateError) return anthropicErrorResponse(400, 'invalid_request_error', error.message)
        throw error
      }
      if (endpoint.kind === 'count') {
        // Counted here with the gateway's tokenizer (an estimate): OpenAI's API has no such endpoint.
        return jsonResponse(200, { input_tokens: countChatTokens(request.messages as never, String(request.model), request.tools) })
      }
      exchange.sent = JSON.stringify(request)
    }
    exchanges.set(ctx, exchange)
    ctx.provider = 'openai'
  }

  function beforeUpstream(ctx: ForwardContext, attempt: UpstreamAttempt): void {
    const exchange = exchanges.get(ctx)
    if (!exchange) return
    const { endpoint } = exchange
    if (endpoint.kind === 'messages') {
      attempt.path = '/v1/chat/completions'
      attempt.body = exchange.sent!
      attempt.headers['content-type'] = 'application/json'
    } else {
      attempt.path = endpoint.kind === 'model' ? `/v1/models/${encodeURIComponent(endpoint.id)}` : '/v1/models'
    }
    // OpenAI-compatible APIs take the key as a Bearer token.
    const key = attempt.headers['x-api-key']
    if (typeof key === 'string' && key !== '') {
      takeBearer(attempt)
      attempt.headers.authorization = `Bearer ${key}`
    }
    if (attempt.headers['x-api-key'] !== undefined) attempt.headers['x-api-key'] = undefined
    for (const name of ANTHROPIC_HEADERS) if (attempt.headers[name] !== undefined) attempt.headers[name] = undefined
    attempt.headers['accept-encoding'] = 'identity'
  }

  function afterUpstream(ctx: ForwardContext, response: UpstreamResponse): void {
    const exchange = exchanges.get(ctx)
    if (!exchange) return
    const { endpoint } = exchange
    if (response.status >= 400) return mapJson(response, (text) => anthropicError(response.status, text))
    if (endpoint.kind === 'models') return mapJson(response, (text) => anthropicModelList(JSON.parse(text)))
    if (endpoint.kind === 'model') return mapJson(response, (text) => anthropicModel(JSON.parse(text)))
    const type = response.headers['content-type']
    if (typeof type === 'string' && type.startsWith('text/event-stream')) mapStream(response, new OpenAIStream())
    else mapJson(response, (text) => anthropicMessage(JSON.parse(text)))
  }

  return {
    name: 'translate',
    describe: () => `Anthropic clients → OpenAI-compatible target${options.models.size > 0 ? `, ${options.models.size} model name${options.models.size === 1 ? '' : 's'} mapped` : ''}`,
    onRequest,
    beforeUpstream,
    afterUpstream,
    // The gateway's own failures (unreachable, timeouts), in the client's shape.
    onError(_ctx, error) {
      const failure = error as Error & { status?: number; code?: string | null }
      const status = typeof failure.status === 'number' ? failure.status : 500
      const { error: body } = anthropicError(status, JSON.stringify({ error: { message: failure.message } }))
      return anthropicErrorResponse(status, body.type, body.message)
    },
    readsResponseBody: false,
  }
}
