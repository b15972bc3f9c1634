import { assertConfig, checkKnownKeys, definePlugin, requestSlot, type ForwardContext, type ForwardPlugin, type PluginStorage, type WindowSpec } from '../../src/index.ts'
import { refusal, setLimitHeaders, unavailable } from './answer.ts'
import { StorageGuard } from './guard.ts'
import { warnIfPerProcess } from './shared.ts'
import { factsOf, LIMIT_HINTS, LimitPlan, requestModel, SHARED_LIMIT_OPTIONS, type SharedLimitOptions } from './rules.ts'

export type { LimitRule, LimitScope, LimitStrategy, Rate, SharedLimitOptions } from './rules.ts'

/** Options of the `rateLimit` plugin: requests per period (see `SharedLimitOptions` for each field). */
export interface RateLimitOptions extends SharedLimitOptions {}

const FIELD = 'plugins.rateLimit'

/** A request counted by this plugin, to take back if a later limit refuses it. */
interface Counted {
  specs: WindowSpec[]
  at: number
}

/**
 * Limits requests per caller, IP, route, model or level, as all of the configured rates at once.
 * Every window a request falls under is checked and counted in one atomic storage call, so a
 * request refused by one limit counts against none, and with Redis the limits hold across every
 * gateway instance.
 */
export const rateLimit = definePlugin((options: RateLimitOptions) => {
  checkKnownKeys(options, SHARED_LIMIT_OPTIONS, FIELD, LIMIT_HINTS)
  const plan = new LimitPlan(options, FIELD)
  assertConfig(!plan.empty, FIELD, 'sets no limit: give at least `limit`, `levels`, `callers`, `models` or `limits`')
  const failOpen = options.failOpen ?? true
  assertConfig(typeof failOpen === 'boolean', `${FIELD}.failOpen`, 'must be true or false')

  const guard = new StorageGuard('rateLimit')
  const counted = requestSlot<Counted>('rateLimit counted')
  let storage: PluginStorage | undefined
  /** Placed on routes rather than top-level: each route keeps its own counters. */
  let perRoute = false

  async function onRequest(ctx: ForwardContext): Promise<Response | void> {
    if (!storage) return
    const model = plan.needsModel ? await requestModel(ctx) : undefined
    const { windows, specs } = plan.choose(factsOf(ctx, model), perRoute)
    if (windows.length === 0) return
    const store = storage
    const result = await guard.run(() => store.consume(specs, 1), ctx.log, failOpen, !store.shared)
    if (!result) return failOpen ? undefined : unavailable('rateLimit')
    setLimitHeaders(ctx.responseHeaders, 'requests', windows, result)
    if (!result.allowed) return refusal('requests', windows, result, 1)
    counted.set(ctx, { specs, at: result.at })
  }

  const plugin: ForwardPlugin = {
    name: 'rateLimit',
    // onResponse only looks at the status, to take back counts of requests refused later in the chain.
    readsResponseBody: false,
    describe: () => `${plan.describe()}${options.strategy === 'fixed-window' ? ', fixed window' : ''}${failOpen ? '' : ', fails closed'}`,
    setup(setup) {
      storage = setup.storage
      if (setup.route) perRoute = true
      guard.attach(setup.log)
      warnIfPerProcess(setup, 'rateLimit')
    },
    onRequest,
    // A request another limit refused (a 429 before any upstream attempt) is taken back here,
    // so it does not count against this plugin's limits either.
    async onResponse(ctx, result) {
      const request = counted.get(ctx)
      if (!request || !storage || result.attempts > 0 || result.status !== 429) return
      const store = storage
      await guard.run(() => store.adjust(request.specs, -1, request.at), ctx.log, failOpen, !store.shared)
    },
  }
  return plugin
})
