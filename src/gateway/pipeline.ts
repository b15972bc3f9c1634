import type { ResolvedRoute } from '../config/types.ts'
import type { ChunkVerdict, ForwardContext, ForwardPlugin, SSEEvent } from '../plugin/types.ts'
import { requestSlot } from '../plugin/slot.ts'
import type { ForwardResult } from './result.ts'

/**
 * A route's plugin chain, flattened into one array per hook once per loaded config, so a request
 * only walks the hooks that exist and the hot path does no lookups.
 */
export interface RoutePipeline {
  route: ResolvedRoute
  plugins: readonly ForwardPlugin[]
  onRequest: readonly ForwardPlugin[]
  wrapUpstream: readonly ForwardPlugin[]
  beforeUpstream: readonly ForwardPlugin[]
  afterUpstream: readonly ForwardPlugin[]
  transformStream: readonly ForwardPlugin[]
  onResponse: readonly ForwardPlugin[]
  onError: readonly ForwardPlugin[]
  /** All `onChunk` hooks composed into one call, or `undefined` when none exist (bytes then pass untouched). */
  onChunk: ((ctx: ForwardContext, event: SSEEvent) => ChunkVerdict) | undefined
  /** The response body must be kept for `onResponse` hooks. */
  collectBody: boolean
  /** Some hook may call the upstream more than once, so the request body must be re-sendable. */
  resendable: boolean
}

/**
 * One `onChunk` hook, guarded: a hook that throws is logged (once per request) and its event passes
 * unchanged. It runs inside the upstream body's data handler, where a throw would break the stream.
 */
function guardedChunkHook(plugin: ForwardPlugin): (ctx: ForwardContext, event: SSEEvent) => ChunkVerdict {
  const reported = requestSlot<true>(`${plugin.name} onChunk failure reported`)
  return (ctx, event) => {
    try {
      return plugin.onChunk!(ctx, event)
    } catch (error) {
      if (!reported.has(ctx)) {
        reported.set(ctx, true)
        ctx.log.error(`plugin ${plugin.name} onChunk failed (its events pass unchanged):`, error)
      }
      return undefined
    }
  }
}

function composeChunkHooks(plugins: ForwardPlugin[]): RoutePipeline['onChunk'] {
  const hooks = plugins.filter((p) => p.onChunk).map(guardedChunkHook)
  if (hooks.length === 0) return undefined
  if (hooks.length === 1) return hooks[0]
  return (ctx, event) => {
    let replaced: string | undefined
    for (const hook of hooks) {
      const verdict = hook(ctx, event)
      if (verdict === false) return false
      if (typeof verdict === 'string') replaced = verdict
    }
    return replaced
  }
}

/** Builds the pipeline of one route: global plugins first, then the route's own. */
export function buildPipeline(route: ResolvedRoute, globalPlugins: readonly ForwardPlugin[]): RoutePipeline {
  const plugins = [...globalPlugins, ...route.plugins]
  const having = (hook: keyof ForwardPlugin) => plugins.filter((p) => typeof p[hook] === 'function')
  const wrapUpstream = having('wrapUpstream')
  const onResponse = having('onResponse')
  return {
    route,
    plugins,
    onRequest: having('onRequest'),
    wrapUpstream,
    beforeUpstream: having('beforeUpstream'),
    afterUpstream: having('afterUpstream'),
    transformStream: having('transformStream'),
    onResponse,
    onError: having('onError'),
    onChunk: composeChunkHooks(plugins),
    collectBody: onResponse.some((p) => p.readsResponseBody !== false),
    resendable: wrapUpstream.length > 0,
  }
}

/**
 * Runs the `onRequest` hooks in chain order until one answers (a gatekeeper's 401, 403, 429):
 * its `Response` and name, or `undefined` when every hook let the request through. For the paths
 * off the forwarding hot loop (handlers, WebSocket handshakes).
 */
export async function firstAnswer(pipeline: RoutePipeline, ctx: ForwardContext): Promise<{ answer: Response; by: string } | undefined> {
  for (const plugin of pipeline.onRequest) {
    const answer = await plugin.onRequest!(ctx)
    if (answer) return { answer, by: plugin.name }
  }
  return undefined
}

interface Ended {
  pipeline: RoutePipeline
  ctx: ForwardContext
  result: () => ForwardResult
}

/** Exchanges that ended during this turn of the event loop, waiting for their `onResponse` hooks. */
let ended: Ended[] = []

/**
 * Runs every `onResponse` hook once the exchange has ended; the result is only built when some
 * hook exists. Hooks run at the end of the event loop's turn, for every exchange that ended in it
 * in a row: the same code over and over runs from warm caches (chatLog's records cost about half as
 * much built this way as one at a time between other requests' work). A failing hook is logged,
 * never thrown: it must not touch the client's response.
 */
export function settle(pipeline: RoutePipeline, ctx: ForwardContext, result: () => ForwardResult): void {
  if (pipeline.onResponse.length === 0) return
  if (ended.length === 0) setImmediate(settleEnded)
  ended.push({ pipeline, ctx, result })
}

function settleEnded(): void {
  const batch = ended
  ended = []
  const results: (ForwardResult | undefined)[] = []
  let hooks = 0
  for (const { pipeline, ctx, result } of batch) {
    // One exchange's trouble must not cost the others of the batch their hooks (nor the process).
    try {
      results.push(result())
      hooks = Math.max(hooks, pipeline.onResponse.length)
    } catch (error) {
      results.push(undefined)
      ctx.log.error('building the result for onResponse hooks failed:', error)
    }
  }
  // Hook by hook across the batch, so each plugin's code runs over and over while it is warm; each
  // exchange still sees its plugins in their order.
  for (let i = 0; i < hooks; i++) {
    for (let j = 0; j < batch.length; j++) {
      const plugin = batch[j]!.pipeline.onResponse[i]
      const result = results[j]
      if (plugin && result) runResponseHook(plugin, batch[j]!.ctx, result)
    }
  }
}

function runResponseHook(plugin: ForwardPlugin, ctx: ForwardContext, ended: ForwardResult): void {
  try {
    const done = plugin.onResponse!(ctx, ended)
    if (done && typeof (done as Promise<void>).catch === 'function') {
      ;(done as Promise<void>).catch((error: unknown) => ctx.log.error(`plugin ${plugin.name} onResponse failed:`, error))
    }
  } catch (error) {
    ctx.log.error(`plugin ${plugin.name} onResponse failed:`, error)
  }
}
