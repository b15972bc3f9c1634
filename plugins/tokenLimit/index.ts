import { assertConfig, checkKnownKeys, definePlugin, errorResponse, loadEncoding, requestSlot, type ForwardContext, type ForwardPlugin, type PluginStorage, type SSEEvent, type WindowSpec } from '../../src/index.ts'
import { limitText, refusal, setLimitHeaders, unavailable } from '../rateLimit/answer.ts'
import { StorageGuard } from '../rateLimit/guard.ts'
import { warnIfPerProcess } from '../rateLimit/shared.ts'
import { factsOf, LIMIT_HINTS, LimitPlan, SHARED_LIMIT_OPTIONS, type Rate, type SharedLimitOptions, type WindowChoice } from '../rateLimit/rules.ts'
import { completionReserve, promptTokens, settledTokens, type GenerationBody } from './estimate.ts'
import { PacePlan, type PaceOptions } from './pace.ts'
import { StreamUsage } from './stream-usage.ts'
import { TokenPacer } from './pacer.ts'

export type { PaceOptions } from './pace.ts'

/** Options of the `tokenLimit` plugin: token budgets (see `SharedLimitOptions`; a unit is a token), and output pacing. */
export interface TokenLimitOptions extends SharedLimitOptions {
  /** Tokens reserved for the answer when the request sets no `max_tokens` / `max_completion_tokens` / `max_output_tokens`. Default 1000. */
  defaultMaxTokens?: number
  /**
   * Ask the upstream for usage in streamed chat and completions (`stream_options.include_usage`), so
   * budgets settle to the real count; the extra usage event is hidden from clients that did not ask
   * for it. `false` settles streams to tokens counted from the streamed text. Default `true`.
   */
  streamUsage?: boolean
  /** Output pacing: stream answers at most this fast, e.g. `'60/second'`, or per model, level and caller. */
  pace?: Rate | PaceOptions
}

const FIELD = 'plugins.tokenLimit'
const KNOWN = [...SHARED_LIMIT_OPTIONS, 'defaultMaxTokens', 'streamUsage', 'pace']

/** Tokens held for a request until its response ends. */
interface Reservation {
  specs: WindowSpec[]
  at: number
  reserved: number
  prompt: number
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Token budgets per caller, IP, route, model or level (reserved before forwarding from the prompt
 * and the answer's cap, settled to the real usage when the response ends), and output pacing
 * (streams reach the client at no more than a set number of tokens per second).
 */
export const tokenLimit = definePlugin((options: TokenLimitOptions) => {
  assertConfig(isRecord(options as unknown), FIELD, 'must be an object of options')
  checkKnownKeys(options, KNOWN, FIELD, { ...LIMIT_HINTS, maxTokens: 'defaultMaxTokens', pacing: 'pace' })
  const { pace, defaultMaxTokens = 1000, streamUsage = true, failOpen = true, ...budgetOptions } = options
  const budgets = new LimitPlan(budgetOptions, FIELD)
  const pacing = pace === undefined ? undefined : new PacePlan(pace, `${FIELD}.pace`)
  assertConfig(!budgets.empty || pacing, FIELD, 'sets neither a budget (`limit`, `levels`, `callers`, `models`, `limits`) nor `pace`')
  assertConfig(Number.isInteger(defaultMaxTokens) && defaultMaxTokens >= 0, `${FIELD}.defaultMaxTokens`, `must be an integer ≥ 0, got ${JSON.stringify(defaultMaxTokens)}`)
  assertConfig(typeof streamUsage === 'boolean', `${FIELD}.streamUsage`, 'must be true or false')
  assertConfig(typeof failOpen === 'boolean', `${FIELD}.failOpen`, 'must be true or false')

  const guard = new StorageGuard('tokenLimit')
  const reservations = requestSlot<Reservation>('tokenLimit reservation')
  const streamUsageEvent = new StreamUsage()
  /** Each paced request's speed, in ms per token. */
  const paces = requestSlot<{ msPerToken: number; model: string | undefined }>('tokenLimit pace')
  let storage: PluginStorage | undefined
  let perRoute = false

  /** Reserves the request's tokens in every budget it falls under; a response when refused. */
  async function reserve(ctx: ForwardContext, body: GenerationBody, { windows, specs }: WindowChoice): Promise<Response | void> {
    const prompt = promptTokens(body)
    if (prompt === undefined || !storage) return
    const cost = prompt + completionReserve(body, ctx.upstreamPath, defaultMaxTokens)
    const tooLarge = windows.find((w) => cost > w.spec.limit)
    if (tooLarge) {
      // It could never fit, however long the client waits: say so instead of a Retry-After.
      return errorResponse(429, `Request too large: it needs ${cost} tokens (prompt ${prompt} + answer cap), above the limit of ${limitText(tooLarge)} tokens. Lower max_tokens or shorten the prompt.`, 'rate_limit_error', 'rate_limit_exceeded')
    }
    const store = storage
    const result = await guard.run(() => store.consume(specs, cost), ctx.log, failOpen, !store.shared)
    if (!result) return failOpen ? undefined : unavailable('tokenLimit')
    setLimitHeaders(ctx.responseHeaders, 'tokens', windows, result)
    if (!result.allowed) return refusal('tokens', windows, result, cost)
    reservations.set(ctx, { specs, at: result.at, reserved: cost, prompt })
    if (streamUsage) streamUsageEvent.request(ctx, body)
  }

  async function onRequest(ctx: ForwardContext): Promise<Response | void> {
    if (!ctx.hasJsonBody) return
    const body = await ctx.json<GenerationBody>()
    if (!isRecord(body)) return
    const model = typeof body.model === 'string' ? body.model : undefined
    const facts = factsOf(ctx, model)
    if (pacing) {
      const msPerToken = pacing.msPerToken(facts)
      if (msPerToken !== undefined) paces.set(ctx, { msPerToken, model })
    }
    if (budgets.empty) return
    const choice = budgets.choose(facts, perRoute)
    if (choice.windows.length > 0) return reserve(ctx, body, choice)
  }

  const plugin: ForwardPlugin = {
    name: 'tokenLimit',
    describe() {
      const parts = budgets.empty ? [] : [`${budgets.describe()} tokens`]
      if (pacing) parts.push(pacing.describe())
      return parts.join('; ')
    },
    setup(setup) {
      storage = setup.storage
      if (setup.route) perRoute = true
      guard.attach(setup.log)
      if (!budgets.empty) warnIfPerProcess(setup, 'tokenLimit')
      // Every budgeted request counts its prompt: the default encoding is built before the first one.
      if (!budgets.empty) loadEncoding()
    },
    onRequest,
    async onResponse(ctx, result) {
      const held = reservations.get(ctx)
      if (!held || !storage) return
      const delta = settledTokens(result, held.reserved, held.prompt) - held.reserved
      if (delta === 0) return
      const store = storage
      await guard.run(() => store.adjust(held.specs, delta, held.at), ctx.log, failOpen, !store.shared)
    },
  }
  if (!budgets.empty && streamUsage) {
    // Drops the usage event the plugin asked for and the client did not, `{"choices":[],"usage":{…}}`.
    plugin.onChunk = (ctx: ForwardContext, event: SSEEvent) => streamUsageEvent.onChunk(ctx, event)
  }
  if (pacing) {
    plugin.transformStream = (ctx, head) => {
      const paced = paces.get(ctx)
      const type = head.headers['content-type']
      if (!paced || head.status !== 200 || typeof type !== 'string' || !type.startsWith('text/event-stream')) return undefined
      return new TokenPacer(paced.msPerToken, paced.model, ctx.signal)
    }
  }
  return plugin
})
