import { jsonResponse, requestSlot, type ForwardContext, type ForwardPlugin, type UpstreamAttempt, type UpstreamResponse } from '../../src/index.ts'
import { anthropic } from './anthropic/index.ts'
import { mapJson, mapStream } from './body.ts'
import { providerError, TranslateError } from './errors.ts'
import { checkChatFields } from './fields.ts'
import { gemini } from './gemini/index.ts'
import { openaiModel, openaiModelList } from './models.ts'
import type { Provider, ResolvedTranslateOptions } from './options.ts'
import type { ChatPlan, ProviderAdapter } from './provider.ts'
import { openaiEndpoint, type OpenAIEndpoint } from './routes.ts'

const ADAPTERS: Record<Provider, ProviderAdapter> = { anthropic, gemini }

/** One request's translation. */
interface Exchange {
  endpoint: OpenAIEndpoint
  /** The provider's request body, made on the first attempt (retries send it again). */
  sent?: string
  /** What mapping the answer back needs, known once the body is final (at the first attempt). */
  plan?: ChatPlan
  /** The key sent upstream, never to be echoed back. */
  secret?: string
}

/**
 * `translate({ to })`: OpenAI clients (chat completions, the model list) served by another
 * provider's API. The request is rewritten just before it goes upstream, from the body every plugin
 * before has seen and changed in OpenAI's shape; the answer is rewritten as it arrives (a stream
 * event by event), so every plugin after (tokenLimit, cache, chatLog) sees OpenAI's shape too.
 */
export function openaiClients(options: ResolvedTranslateOptions): ForwardPlugin {
  const adapter = ADAPTERS[options.provider]
  const exchanges = requestSlot<Exchange>('translate')

  async function onRequest(ctx: ForwardContext): Promise<Response | void> {
    const endpoint = openaiEndpoint(ctx)
    if (endpoint.kind === 'other') {
      return jsonResponse(404, { error: { message: `translate: ${ctx.method} ${endpoint.path} has no ${adapter.name} counterpart (only chat completions and the model list are translated)`, type: 'invalid_request_error', param: null, code: 'unsupported_endpoint' } })
    }
    if (endpoint.kind === 'chat') {
      const body = await ctx.json()
      try {
        checkChatFields(adapter.name, body)
      } catch (error) {
        if (error instanceof TranslateError) return jsonResponse(error.status, error.toJSON())
        throw error
      }
    }
    exchanges.set(ctx, { endpoint })
    ctx.provider = adapter.name
  }

  async function beforeUpstream(ctx: ForwardContext, attempt: UpstreamAttempt): Promise<void> {
    const exchange = exchanges.get(ctx)
    if (!exchange) return
    const { endpoint } = exchange
    if (endpoint.kind === 'chat') {
      // Made from the body as the plugins before left it (tokenLimit's stream_options, cache's caching removed).
      if (exchange.plan === undefined) {
        const body = await ctx.json()
        exchange.sent = JSON.stringify(adapter.request(body, options))
        // As OpenAI does: a usage chunk ends the stream when the body asks for one (the client, or tokenLimit, which hides it again).
        exchange.plan = { body, model: options.models.get(body.model) ?? body.model, usage: body.stream_options?.include_usage === true }
      }
      const { plan } = exchange
      attempt.path = adapter.chatPath(plan.model, plan.body.stream === true)
      attempt.body = exchange.sent!
      attempt.headers['content-type'] = 'application/json'
    } else {
      attempt.path = adapter.modelsPath(endpoint.kind === 'model' ? endpoint.id : undefined)
    }
    // The body is rewritten: it must come plain (a compressed one is decoded all the same).
    attempt.headers['accept-encoding'] = 'identity'
    exchange.secret = adapter.credential(attempt, options)
  }

  function afterUpstream(ctx: ForwardContext, response: UpstreamResponse): void {
    const exchange = exchanges.get(ctx)
    if (!exchange) return
    const { endpoint } = exchange
    if (response.status >= 400) {
      mapJson(response, (text) => providerError(adapter.name, response.status, text, exchange.secret))
      return
    }
    if (endpoint.kind === 'models') return mapJson(response, (text) => openaiModelList(adapter.name, JSON.parse(text)))
    if (endpoint.kind === 'model') return mapJson(response, (text) => openaiModel(adapter.name, JSON.parse(text)))
    const plan = exchange.plan!
    const type = response.headers['content-type']
    if (typeof type === 'string' && type.startsWith('text/event-stream')) mapStream(response, adapter.stream(plan))
    else mapJson(response, (text) => adapter.completion(JSON.parse(text), plan))
  }

  return {
    name: 'translate',
    describe: () => `OpenAI clients → ${adapter.name}${options.models.size > 0 ? `, ${options.models.size} model name${options.models.size === 1 ? '' : 's'} mapped` : ''}`,
    onRequest,
    beforeUpstream,
    afterUpstream,
    readsResponseBody: false,
  }
}
