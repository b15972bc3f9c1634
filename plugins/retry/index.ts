import { definePlugin, ForwardError, requestSlot, type ForwardContext, type ForwardPlugin, type ResolvedRoute, type UpstreamCall, type UpstreamResponse } from '../../src/index.ts'
import { TargetBreaker } from './breaker.ts'
import { resolveRetryOptions, type RetryOptions, type RetrySettings } from './options.ts'
import { backoffMs, discard, hasPipedBody, isRetryableError, pause, retryAfterMs } from './policy.ts'

export type { Duration, RetryOptions } from './options.ts'

/** Sent to the client when more than one upstream attempt was made. */
const ATTEMPTS_HEADER = 'x-aifd-attempts'
/** Sent when a retryable answer was passed on because the upload cannot be sent twice. */
const NOT_RETRIED_HEADER = 'x-aifd-not-retried'

/**
 * Retries failed upstream calls with exponential backoff and full jitter, honours `Retry-After`,
 * moves to the next target on a retry, and keeps a circuit breaker per target so a dead one is
 * skipped instead of costing every request a failed attempt.
 */
export const retry = definePlugin((options: RetryOptions | void) => {
  const settings = resolveRetryOptions(options ?? {})
  const breaker = settings.breaker && new TargetBreaker(settings.breaker)
  const targetLists = new WeakMap<ResolvedRoute, readonly string[]>()
  /** The target each request's current attempt went to, for attempts that end in an error (no response). */
  const attemptTargets = requestSlot<string>('retry target')

  function targetsOf(route: ResolvedRoute): readonly string[] {
    let list = targetLists.get(route)
    if (!list) targetLists.set(route, (list = route.targets.map((t) => t.base)))
    return list
  }

  /** ms to wait before retrying this response, or `undefined` to hand it to the client as it is. */
  function waitBeforeRetry(ctx: ForwardContext, response: UpstreamResponse, attempt: number, upload: boolean): number | undefined {
    if (!settings.statuses.has(response.status) || attempt >= settings.attempts) return undefined
    const asked = retryAfterMs(response.headers)
    if (asked !== undefined && asked > settings.maxRetryAfterMs) return undefined
    if (upload) {
      ctx.responseHeaders[NOT_RETRIED_HEADER] = 'the request body is an upload, which cannot be sent twice'
      return undefined
    }
    const wait = asked ?? backoffMs(attempt, settings.baseMs, settings.maxMs)
    return fitsDeadline(ctx, wait) ? wait : undefined
  }

  async function wrapUpstream(ctx: ForwardContext, next: UpstreamCall): Promise<UpstreamResponse> {
    const upload = hasPipedBody(ctx.hasJsonBody, ctx.headers)
    let sent = 0
    try {
      for (let attempt = 1; ; attempt++) {
        let response: UpstreamResponse
        try {
          response = await next()
          sent++
        } catch (error) {
          if (!isRetryableError(error)) throw error
          sent++
          if (breaker && ctx.route.targets.length > 1) {
            const target = attemptTargets.get(ctx)
            if (target) await breaker.failed(target)
          }
          if (attempt >= settings.attempts) throw error
          // The upload stream is spent once an attempt failed (undici destroys it even unread).
          if (upload) throw uploadNotResent(error)
          const wait = backoffMs(attempt, settings.baseMs, settings.maxMs)
          if (!fitsDeadline(ctx, wait)) throw error
          ctx.log.debug(`attempt ${attempt} failed (${error.code}); retrying in ${Math.round(wait)} ms`)
          await pause(wait, ctx.signal)
          continue
        }
        const wait = waitBeforeRetry(ctx, response, attempt, upload)
        if (wait === undefined) return response
        ctx.log.debug(`attempt ${attempt} answered ${response.status}; retrying in ${Math.round(wait)} ms`)
        discard(response.body)
        await pause(wait, ctx.signal)
      }
    } finally {
      if (sent > 1) ctx.responseHeaders[ATTEMPTS_HEADER] = String(sent)
    }
  }

  const plugin: ForwardPlugin = {
    name: 'retry',
    describe: () => describeSettings(settings),
    wrapUpstream,
  }
  if (breaker) {
    plugin.setup = (setup) => breaker.attach(setup.storage, setup.log)
    plugin.beforeUpstream = async (ctx, attempt) => {
      if (ctx.route.targets.length < 2) return
      attempt.target = await breaker.choose(targetsOf(ctx.route), attempt.target, attemptTargets.get(ctx))
      attemptTargets.set(ctx, attempt.target)
    }
    plugin.afterUpstream = async (ctx, response) => {
      if (ctx.route.targets.length < 2) return
      const { status } = response
      // 429 and other retried 4xx speak of the key or the caller, not of the target's health.
      if (!settings.statuses.has(status)) await breaker.succeeded(response.attempt.target)
      else if (status >= 500) await breaker.failed(response.attempt.target)
    }
  }
  return plugin
})

/** Whether waiting `ms` still leaves the route's total timeout room for another attempt. */
function fitsDeadline(ctx: ForwardContext, ms: number): boolean {
  const total = ctx.route.timeouts.total
  return total === undefined || performance.now() + ms < ctx.startedAt + total
}

function uploadNotResent(cause: ForwardError): ForwardError {
  return new ForwardError(
    cause.status,
    `${cause.message}. The request body is an upload, streamed through without being kept, and an upload cannot be sent twice, so it was not retried`,
    cause.type,
    'upload_not_retryable',
  )
}

function describeSettings(settings: RetrySettings): string {
  const parts = [`${settings.attempts} attempts on ${[...settings.statuses].join('/')} and connection errors`]
  if (settings.breaker) parts.push(`breaker after ${settings.breaker.failures} failures for ${settings.breaker.coolDownMs} ms`)
  return parts.join(', ')
}
