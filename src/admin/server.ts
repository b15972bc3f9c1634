import type { Server } from 'node:http'
import { H3, getRouterParam } from 'h3'
import { toNodeHandler } from 'h3/node'
import type { ConsolaInstance } from 'consola'
import { loadForwardConfig, type ResolvedConfig, type RunningGateway } from '../index.ts'
import { listenNode } from '../listen.ts'
import { generateToken, presentedToken, tokenMatches } from './auth.ts'
import { ConfigEditor, ConfigRejected } from './config-editor.ts'
import { configView } from './config-view.ts'
import { eventStream } from './events.ts'
import type { MonitorHub } from './hub.ts'
import { withMonitor } from './monitor-plugin.ts'
import { keysApi } from './keys-api.ts'
import { playgroundProxy } from './playground.ts'
import { RANGES, type RangeName } from './series.ts'
import { StaticFiles } from './static.ts'

export interface AdminOptions {
  /** The running gateway the dashboard shows (its config, its reloads, its public URL for the playground). */
  gateway: RunningGateway
  /** The hub its `monitor(hub)` plugin records into. */
  hub: MonitorHub
  /** Default: the config's `webui.host`, else `127.0.0.1` (loopback only). */
  host?: string
  /** Default: the config's `webui.port` (8001). `0` picks a free port. */
  port?: number
  /** Default: the config's `webui.token`, else `$AIFD_ADMIN_TOKEN`, else a random one (see `tokenGenerated`). */
  token?: string
  /** Allow editing the config file from the page. Default: the config's `webui.editConfig` (off). */
  editConfig?: boolean
  /**
   * Loads a config file as the CLI does (its `--port`/`--host` overrides included). Used to validate
   * an edit. Default: `loadForwardConfig({ configFile, fresh: true })`.
   */
  loadConfig?: (file: string) => Promise<ResolvedConfig>
  log?: ConsolaInstance
}

export interface RunningAdmin {
  /** `http://host:port` of the admin listener. */
  url: string
  port: number
  token: string
  /** The token was generated at start (so the banner must show it). */
  tokenGenerated: boolean
  server: Server
  close(): Promise<void>
}

/** Admin request bodies (config source, playground message) are small. */
const MAX_BODY_BYTES = 1024 * 1024

const problem = (status: number, message: string) => Response.json({ error: { message } }, { status })

async function readJson(request: Request): Promise<any> {
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) throw problem(413, 'body too large')
  const text = await request.text()
  if (text.length > MAX_BODY_BYTES) throw problem(413, 'body too large')
  try {
    return JSON.parse(text)
  } catch {
    throw problem(400, 'body must be JSON')
  }
}

/**
 * Logs refused admin requests (wrong or missing token): never the token, and at most one line per
 * 5 s, with the number refused in between, so guessing cannot flood the log.
 */
class RefusalLog {
  #quietUntil = 0
  #skipped = 0
  constructor(private readonly log: ConsolaInstance | undefined) {}

  note(method: string, path: string, tokenGiven: boolean, ip: string | undefined): void {
    const now = Date.now()
    if (now < this.#quietUntil) {
      this.#skipped++
      return
    }
    this.#quietUntil = now + 5000
    const more = this.#skipped ? ` (and ${this.#skipped} more refused since the last report)` : ''
    this.#skipped = 0
    this.log?.warn(`admin: refused ${method} ${path} from ${ip ?? 'unknown'}: ${tokenGiven ? 'wrong' : 'no'} admin token${more}`)
  }
}

/**
 * Starts the dashboard and /metrics on their own listener (loopback by default). Everything except
 * the page's static files needs the admin token.
 */
export async function startAdmin(options: AdminOptions): Promise<RunningAdmin> {
  const { gateway: running, hub } = options
  const webui = running.gateway.config.webui
  const given = options.token ?? webui.token ?? process.env.AIFD_ADMIN_TOKEN
  const token = given || generateToken()
  const editable = (options.editConfig ?? webui.editConfig ?? false) && running.gateway.config.configFile !== undefined
  const files = new StaticFiles()
  const closing = new AbortController()
  const load = options.loadConfig ?? ((file: string) => loadForwardConfig({ configFile: file, fresh: true }))
  const editor = editable
    ? new ConfigEditor({
        file: running.gateway.config.configFile!,
        load,
        apply: async (config) => {
          // In dev the file watcher reloads (and would reload twice if this did too).
          if (running.gateway.mode === 'dev') return false
          await running.gateway.reload(withMonitor(config, hub))
          return true
        },
      })
    : undefined

  const app = new H3()
  const refusals = new RefusalLog(options.log)
  /** Wraps an API handler: refuses a missing or wrong token with 401 before it runs. */
  const guarded = (handler: (request: Request, url: URL, event: any) => unknown, allowQueryToken = false) => async (event: any) => {
    const url: URL = event.url
    const presented = presentedToken(event.req, url, allowQueryToken)
    if (!tokenMatches(token, presented)) {
      refusals.note(event.req.method, url.pathname, presented !== undefined && presented !== null, event.req.ip)
      return problem(401, 'admin token required: Authorization: Bearer <token>')
    }
    try {
      return await handler(event.req, url, event)
    } catch (error) {
      if (error instanceof Response) return error
      options.log?.error('admin request failed:', error)
      return problem(500, (error as Error).message)
    }
  }

  for (const path of ['/', '/index.html', '/app.js', '/charts.js', '/markdown.js', '/style.css', '/favicon.svg']) {
    app.get(path, () => files.response(path))
  }
  app.get('/api/events', guarded((request) => eventStream(hub, request.signal, closing.signal), true))
  app.get('/api/exchanges', guarded((_r, url) => {
    const limit = Math.max(1, Math.min(hub.exchanges.capacity, Number(url.searchParams.get('limit')) || hub.exchanges.capacity))
    return { exchanges: hub.exchanges.recent(limit) }
  }))
  app.get('/api/exchanges/:id', guarded((_r, _u, event) => hub.exchanges.get(getRouterParam(event, 'id') ?? '') ?? problem(404, 'no such exchange (only the most recent are kept)')))
  app.get('/api/stats', guarded((_r, url) => {
    const range = url.searchParams.get('range') ?? '5m'
    if (!Object.hasOwn(RANGES, range)) return problem(400, `range must be one of ${Object.keys(RANGES).join(', ')}`)
    return hub.stats(range as RangeName)
  }))
  app.get('/api/config', guarded(async () => {
    const view = configView(running.gateway, editor !== undefined)
    if (editor) view.source = await editor.read()
    return view
  }))
  app.put('/api/config', guarded(async (request) => {
    if (!editor) return problem(403, 'config editing is off; set webui: { editConfig: true } to turn it on')
    const body = await readJson(request)
    if (typeof body?.source !== 'string') return problem(400, 'body must be {"source": "<the config file>"}')
    try {
      const { reloaded } = await editor.save(body.source)
      return { saved: true, reloaded: reloaded ? 'now' : 'by the file watcher' }
    } catch (error) {
      if (error instanceof ConfigRejected) return problem(422, error.message)
      throw error
    }
  }))
  app.post('/api/playground', guarded(async (request) => playgroundProxy(running, await readJson(request), request.signal)))
  const keys = keysApi(running, options.log)
  app.get('/api/keys', guarded(() => keys.list()))
  app.post('/api/keys', guarded(async (request) => keys.create(await readJson(request))))
  app.delete('/api/keys/:name', guarded((_r, _u, event) => keys.revoke(getRouterParam(event, 'name', { decode: true }) ?? '')))
  app.post('/api/keys/:name/rotate', guarded((_r, _u, event) => keys.rotate(getRouterParam(event, 'name', { decode: true }) ?? '')))
  app.get('/metrics', guarded(async () => new Response(await hub.metrics.text(), { headers: { 'content-type': hub.metrics.contentType } })))

  const host = options.host ?? webui.host ?? '127.0.0.1'
  const port = options.port ?? webui.port ?? 8001
  const listener = await listenNode(toNodeHandler(app) as never, { host, port, name: 'webui', portHint: 'set webui.port in the config' })
  const { server } = listener
  return {
    url: listener.url,
    port: listener.port,
    token,
    tokenGenerated: !given,
    server,
    async close() {
      closing.abort()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}
