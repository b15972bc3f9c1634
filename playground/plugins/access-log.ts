import { checkKnownKeys, definePlugin } from 'openai-forward'

export interface AccessLogOptions {
  /** Prefix of each line. Default `→`. */
  prefix?: string
  /** Also send the route's name to the client as `x-aifd-route`. Default true. */
  routeHeader?: boolean
}

/**
 * An example custom plugin, written against the same API as the built-ins: one line per exchange
 * with the model, status, tokens and timings.
 */
export const accessLog = definePlugin((options: AccessLogOptions = {}) => {
  checkKnownKeys(options, ['prefix', 'routeHeader'], 'accessLog')
  const prefix = options.prefix ?? '→'
  const routeHeader = options.routeHeader ?? true
  return {
    name: 'accessLog',
    describe: () => `prefix "${prefix}"`,
    async onRequest(ctx) {
      if (routeHeader) ctx.responseHeaders['x-aifd-route'] = ctx.route.name
      // Reading the body makes the model known to onResponse (the kernel parses it once).
      if (ctx.hasJsonBody) await ctx.json()
    },
    onResponse(ctx, result) {
      const usage = result.usage()
      const tokens = usage ? `${usage.totalTokens} tokens${usage.estimated ? ' (estimated)' : ''}` : '-'
      const ttfb = result.timings.firstByteMs === undefined ? '-' : `${result.timings.firstByteMs.toFixed(0)} ms`
      ctx.log.info(`${prefix} ${ctx.method} ${ctx.url} ${result.status} ${result.outcome} · ${result.answer()?.model ?? '-'} · ${tokens} · first byte ${ttfb} · ${result.timings.totalMs.toFixed(0)} ms`)
    },
  }
})
