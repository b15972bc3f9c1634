import { definePlugin, mayBeRuntimeKey, requestSlot, type ForwardContext, type ForwardPlugin, type ResolvedRoute, type UpstreamAttempt, type UpstreamResponse } from '../../src/index.ts'
import { filteredModelList, keyRejected, modelRefused, retryAfterMs, unauthorized } from './answers.ts'
import { locationsFor, readCredential, writeCredential, type Locations, type Spot } from './credential.ts'
import { KeyHealth } from './health.ts'
import { KeyPool, type PooledKey } from './pool.ts'
import { resolveKeysOptions, type KeysOptions, type Level } from './options.ts'
import { digestOf, SentKeyDigests } from './secret.ts'
import { isModelList, requestModel } from './request.ts'
import { RuntimeKeys } from './runtime.ts'

export type { ForwardKey, KeyLevel, KeysMode, KeysOptions, NamedForwardKey } from './options.ts'

/** Where an attempt notes the pooled key it was sent with (on the attempt itself: it lives as long). */
const USED_KEY = Symbol('keys: pooled key')
type UsedKeyNote = UpstreamAttempt & { [USED_KEY]?: PooledKey }
const usedKeyOf = (attempt: UpstreamAttempt): PooledKey | undefined => (attempt as UsedKeyNote)[USED_KEY]

/** Statuses that say the key itself cannot be used right now. */
const KEY_TROUBLE = new Set([401, 403, 429])

/** What this plugin decided for one request: which pool serves it and where its key goes. */
interface Plan {
  level: Level
  where: Locations
  spot: Spot | undefined
  /** A model list the level's restrictions must filter. */
  filterList: boolean
}

/**
 * Forward keys and upstream key pools. Clients send a forward key (`fk-…`); the gateway checks it,
 * enforces its level's models, and sends one of the level's real keys upstream, round-robin,
 * skipping keys the upstream just refused. Real keys never reach a client or a log line.
 */
export const keys = definePlugin((options: KeysOptions) => {
  const settings = resolveKeysOptions(options)
  const allDigests = [...new Set([...settings.levels.values()].flatMap((level) => level.keys.map(digestOf)))]
  const health = new KeyHealth(allDigests)
  const pools = new Map([...settings.levels.values()].map((level) => [level, new KeyPool(level, health)]))
  const locations = new WeakMap<ResolvedRoute, Locations>()
  const plans = requestSlot<Plan>('keys plan')
  const sentDigests = new SentKeyDigests()
  const runtime = settings.runtimeKeys ? new RuntimeKeys() : undefined

  function locationsOf(route: ResolvedRoute): Locations {
    let where = locations.get(route)
    if (!where) locations.set(route, (where = locationsFor(route, settings.headers, settings.query)))
    return where
  }

  async function onRequest(ctx: ForwardContext): Promise<Response | void> {
    const where = locationsOf(ctx.route)
    const sent = readCredential(ctx, where)
    const digest = sent ? sentDigests.of(sent.key) : undefined
    const caller = digest ? settings.callers.get(digest) : undefined
    let level: Level
    // A runtime key whose level this plugin does not have is not a key here.
    // Only a key of a runtime key's shape is looked up, so made-up keys cost no storage reads.
    const made = !caller && digest && runtime && mayBeRuntimeKey(sent!.key) ? await runtime.find(digest) : undefined
    const madeLevel = made ? settings.levels.get(made.level) : undefined
    if (caller) {
      level = caller.level
      ctx.caller = { name: caller.name, level: level.name }
    } else if (made && madeLevel) {
      level = madeLevel
      ctx.caller = made.budget ? { name: made.name, level: made.level, budget: made.budget } : { name: made.name, level: made.level }
    } else if (settings.mode === 'open') {
      level = settings.openLevel!
    } else if (settings.mode === 'passthrough') {
      return // The client's own credential (or none) goes upstream untouched.
    } else {
      return unauthorized(sent !== undefined, where.headers[0] === 'authorization' ? '`Authorization: Bearer <key>`' : `the \`${where.headers[0]}\` header`)
    }
    let filterList = false
    if (!level.models.all) {
      const model = await requestModel(ctx)
      if (model !== undefined && !level.models.allows(model)) return modelRefused(model, level.name)
      filterList = isModelList(ctx)
    }
    plans.set(ctx, { level, where, spot: sent?.spot, filterList })
  }

  function beforeUpstream(ctx: ForwardContext, attempt: UpstreamAttempt): void {
    const plan = plans.get(ctx)
    if (!plan) return
    const chosen = pools.get(plan.level)!.pick()
    writeCredential(attempt, plan.where, plan.spot, chosen.key)
    ;(attempt as UsedKeyNote)[USED_KEY] = chosen
  }

  async function afterUpstream(ctx: ForwardContext, response: UpstreamResponse): Promise<void> {
    const used = usedKeyOf(response.attempt)
    if (!used || !KEY_TROUBLE.has(response.status)) return
    const wait = (response.status === 429 ? retryAfterMs(response.headers) : undefined) ?? settings.coolDownMs
    ctx.log.warn(`keys: the upstream answered ${response.status} to key ${used.label}; set aside for ${Math.ceil(wait / 1000)} s`)
    await health.setAside(used.digest, Date.now() + wait)
  }

  async function wrapUpstream(ctx: ForwardContext, next: () => Promise<UpstreamResponse>): Promise<UpstreamResponse> {
    const response = await next()
    const plan = plans.get(ctx)
    if (!plan) return response
    if ((response.status === 401 || response.status === 403) && usedKeyOf(response.attempt) !== undefined) return keyRejected(response, settings.coolDownMs)
    return plan.filterList ? filteredModelList(response, plan.level.models) : response
  }

  const upstreamKeys = allDigests.length
  const plugin: ForwardPlugin = {
    name: 'keys',
    // In `open` mode anyone is served from the pool: that checks nobody.
    checksCallers: settings.mode !== 'open',
    describe: () => `${settings.callers.size} forward key${settings.callers.size === 1 ? '' : 's'}, ${settings.levels.size} level${settings.levels.size === 1 ? '' : 's'}, ${upstreamKeys} upstream key${upstreamKeys === 1 ? '' : 's'}, ${settings.mode}${runtime ? ', runtime keys' : ''}`,
    async setup(setup) {
      const stopHealth = health.attach(setup.storage, setup.log)
      if (!runtime) return stopHealth
      const configKeys = [...settings.callers.values()].map((c) => ({ name: c.name, level: c.level.name }))
      const stopRuntime = await runtime.attach(setup.storage, setup.log, { keys: configKeys, levels: [...settings.levels.keys()] })
      return async () => {
        stopHealth()
        await stopRuntime()
      }
    },
    onRequest,
    wrapUpstream,
    beforeUpstream,
    afterUpstream,
  }
  if (runtime) {
    // Each caller's use, for the key list (admin API, dashboard, `aifd keys list`).
    plugin.onResponse = (ctx, result) => {
      if (ctx.caller && plans.get(ctx)) runtime.count(ctx.caller.name, result)
    }
  }
  return plugin
})
