import { definePlugin, loadEncoding, requestSlot, type ForwardContext, type ForwardPlugin, type ForwardResult, type PluginStorage, type WindowSpec } from '../../src/index.ts'
import { requestModel } from '../keys/request.ts'
import { StorageGuard } from '../rateLimit/guard.ts'
import { factsOf } from '../rateLimit/rules.ts'
import { warnIfPerProcess } from '../rateLimit/shared.ts'
import { completionReserve, promptTokens, type GenerationBody } from '../tokenLimit/estimate.ts'
import { StreamUsage } from '../tokenLimit/stream-usage.ts'
import { budgetExceeded, budgetUnavailable, setBudgetHeaders, tooExpensive, unpricedModel } from './answer.ts'
import { resolveBudgetOptions, type BudgetOptions } from './options.ts'
import { BudgetPlan } from './plan.ts'

export type { BudgetOptions, BudgetScope } from './options.ts'
export type { Budget } from './period.ts'

/** Nano-dollars held for a request until its response ends. */
interface Reservation {
  specs: WindowSpec[]
  at: number
  reserved: number
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** What a request is finally charged, in nano-dollars, once its response ended. */
function settledCost(result: ForwardResult, reserved: number): number {
  // Nothing went upstream (refused later in the chain, a cache hit), or the upstream refused or failed: no charge.
  if (result.attempts === 0 || result.status >= 400) return 0
  const cost = result.cost()
  if (cost?.nanoUsd != null) return cost.nanoUsd
  // Usage the gateway could not read (an answer larger than it keeps), or a model it cannot price:
  // keep the worst case rather than let the spend go uncounted.
  return reserved
}

/**
 * Dollar budgets per caller, level, model, IP or route: before forwarding, the request's worst case
 * (its prompt and its output cap, at the model's price) is reserved in every budget it falls under,
 * in one atomic step (one Lua script on Redis, so instances sharing a Redis hold one budget); when
 * the response ends, the reservation is settled to what the exchange really cost (`result.cost()`).
 */
export const budget = definePlugin((options: BudgetOptions) => {
  const settings = resolveBudgetOptions(options)
  const plan = new BudgetPlan(settings)
  const { failOpen } = settings
  const guard = new StorageGuard('budget')
  const reservations = requestSlot<Reservation>('budget reservation')
  const streamUsage = new StreamUsage()
  let storage: PluginStorage | undefined
  /** Placed on routes rather than top-level: each route keeps its own budgets. */
  let perRoute = false

  async function onRequest(ctx: ForwardContext): Promise<Response | void> {
    if (!storage || !ctx.hasJsonBody) return
    const body = await ctx.json<GenerationBody>()
    if (!isRecord(body)) return
    const model = await requestModel(ctx)
    if (model === undefined) return
    const now = Date.now()
    const budgets = plan.choose(factsOf(ctx, model), perRoute, now, ctx.caller?.budget)
    if (budgets.length === 0) return
    const prompt = promptTokens(body)
    // Not a generation or embedding request: nothing to price.
    if (prompt === undefined) return
    const reserve = ctx.route.prices.worstCaseNano(model, prompt, completionReserve(body, ctx.upstreamPath, settings.defaultMaxTokens))
    if (reserve === undefined) return settings.unpriced === 'refuse' ? unpricedModel(model) : undefined
    const tooLarge = budgets.find((b) => reserve > b.item.nano)
    if (tooLarge) return tooExpensive(tooLarge, reserve)
    const specs = budgets.map((b) => b.spec)
    const store = storage
    const result = await guard.run(() => store.consume(specs, reserve), ctx.log, failOpen, !store.shared)
    if (!result) return failOpen ? undefined : budgetUnavailable()
    setBudgetHeaders(ctx.responseHeaders, budgets, result, now)
    if (!result.allowed) return budgetExceeded(budgets, result, reserve, now)
    reservations.set(ctx, { specs, at: result.at, reserved: reserve })
    if (settings.streamUsage) streamUsage.request(ctx, body)
  }

  const plugin: ForwardPlugin = {
    name: 'budget',
    describe: () => `${plan.describe()}${failOpen ? ', fails open' : ''}`,
    setup(setup) {
      storage = setup.storage
      if (setup.route) perRoute = true
      guard.attach(setup.log)
      warnIfPerProcess(setup, 'budget')
      // Every budgeted request counts its prompt: the default encoding is built before the first one.
      loadEncoding()
    },
    onRequest,
    async onResponse(ctx, result) {
      const held = reservations.get(ctx)
      if (!held || !storage) return
      const delta = settledCost(result, held.reserved) - held.reserved
      if (delta === 0) return
      const store = storage
      await guard.run(() => store.adjust(held.specs, delta, held.at), ctx.log, failOpen, !store.shared)
    },
  }
  if (settings.streamUsage) plugin.onChunk = (ctx, event) => streamUsage.onChunk(ctx, event)
  return plugin
})
