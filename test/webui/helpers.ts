// Shared by the dashboard tests: a gateway with the monitor plugin and the admin server, and small
// test-only plugins standing in for an auth plugin and a limiter.
import { errorResponse, type ForwardConfig, type ForwardPlugin, type RouteConfig } from '../../src/index.ts'
import { createMonitorHub, monitor, startAdmin, type AdminOptions, type MonitorHub, type RunningAdmin } from '../../src/admin/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'

export const TOKEN = 'test-admin-token'

/** Names the caller from `x-test-caller`, as the keys plugin would from a forward key. */
export const namer: ForwardPlugin = {
  name: 'namer',
  onRequest(ctx) {
    const name = ctx.headers['x-test-caller']
    if (typeof name === 'string') ctx.caller = { name }
  },
}

/** Refuses with 429 when `x-test-refuse` is set, like rateLimit does over its limit. */
export const refuser: ForwardPlugin = {
  name: 'rateLimit',
  onRequest(ctx) {
    if (ctx.headers['x-test-refuse']) return errorResponse(429, 'Rate limit reached', 'rate_limit_error', 'rate_limited')
  },
}

/** Calls the upstream a second time when the first answer is a server error. */
export const retryOnce: ForwardPlugin = {
  name: 'retryOnce',
  async wrapUpstream(_ctx, next) {
    const first = await next()
    if (first.status < 500) return first
    first.body.resume()
    return next()
  },
}

export interface Dashboard {
  hub: MonitorHub
  gateway: TestGateway
  admin: RunningAdmin
  /** GET on the admin server with the token. */
  get(path: string): Promise<Response>
  stop(): Promise<void>
}

/** A gateway whose first global plugin is `monitor(hub)`, and its admin server on a free port. */
export async function startDashboard(routes: Record<string, RouteConfig>, extra: ForwardConfig = {}, admin: Partial<AdminOptions> = {}): Promise<Dashboard> {
  const hub = createMonitorHub({ processMetrics: false })
  const gateway = await startTestGateway({ ...extra, plugins: [monitor(hub), ...(extra.plugins ?? [])], routes })
  const running = await startAdmin({ gateway, hub, port: 0, token: TOKEN, ...admin })
  return {
    hub,
    gateway,
    admin: running,
    get: (path) => fetch(running.url + path, { headers: { authorization: `Bearer ${TOKEN}` } }),
    async stop() {
      await running.close()
      await gateway.stop()
    },
  }
}

/** Prometheus text → `name{labels}` → value, labels sorted by name so tests need not know the order. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) continue
    const labels = match[2] ? [...match[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort().join(',') : ''
    out.set(labels ? `${match[1]}{${labels}}` : match[1], Number(match[3]))
  }
  return out
}

/** The key `parseMetrics` uses for a series. */
export function series(name: string, labels: Record<string, string> = {}): string {
  const list = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',')
  return list ? `${name}{${list}}` : name
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function until(condition: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(20)
  }
}
