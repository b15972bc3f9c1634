import type { Server } from 'node:http'
import type { ConsolaInstance } from 'consola'
import type { ResolvedConfig } from './config/types.ts'
import { Gateway } from './gateway/gateway.ts'
import { listenNode, type ListenerURL, type NodeListener } from './listen.ts'
import { createLogger } from './logger.ts'

export interface StartOptions {
  /** `dev` runs plugins in dev mode (the CLI adds hot reload). */
  mode?: 'run' | 'dev'
  /** Defaults to a logger at the config's level. */
  log?: ConsolaInstance
}

export interface RunningGateway {
  gateway: Gateway
  /** A URL to reach it from this machine, with the port actually bound (loopback when bound to all interfaces). */
  url: string
  /** The address bound, e.g. `0.0.0.0:8000`. */
  address: string
  /** listhen's URLs: local, and one per network interface when bound to all of them. */
  urls: ListenerURL[]
  port: number
  server: Server
  /** Re-listens when host or port changed (dev reload). */
  relisten(host: string, port: number): Promise<void>
  /** Stops listening, waits for in-flight requests (up to the grace period), disposes everything. */
  close(graceMs?: number): Promise<boolean>
}

/** Listens with listhen; fails (instead of picking another port) when the port is taken. */
async function bind(gateway: Gateway, host: string, port: number): Promise<NodeListener> {
  const listener = await listenNode(gateway.handler, { host, port, upgrade: gateway.upgradeHandler, portHint: 'set server.port or --port' })
  const { server } = listener
  // `Expect: 100-continue` comes here instead of as a request, so an upload over the limit gets its
  // 413 before the client sends it.
  server.on('checkContinue', gateway.continueHandler)
  server.keepAliveTimeout = 65_000
  // Headers and idle timeouts are the upstream's business; a long stream must not be cut here.
  server.requestTimeout = 0
  server.headersTimeout = 60_000
  return listener
}

/** Starts serving a resolved config. */
export async function startGateway(config: ResolvedConfig, options: StartOptions = {}): Promise<RunningGateway> {
  const log = options.log ?? createLogger(config.logLevel)
  const gateway = await Gateway.create(config, { mode: options.mode ?? 'run', log })
  let listener: NodeListener
  try {
    listener = await bind(gateway, config.server.host, config.server.port)
  } catch (error) {
    await gateway.shutdown(0)
    throw error
  }
  const running: RunningGateway = {
    gateway,
    url: '',
    address: '',
    urls: [],
    port: 0,
    server: listener.server,
    async relisten(host, port) {
      const next = await bind(gateway, host, port)
      const previous = listener
      listener = next
      update()
      await previous.close()
    },
    async close(graceMs = config.server.gracePeriod * 1000) {
      // Stop accepting first, then let what is in flight finish.
      listener.server.close()
      const drained = await gateway.shutdown(graceMs)
      listener.server.closeAllConnections?.()
      await listener.close().catch(() => {})
      return drained
    },
  }
  function update() {
    running.port = listener.port
    running.url = listener.url
    running.address = listener.address
    running.urls = listener.urls
    running.server = listener.server
  }
  update()
  return running
}
