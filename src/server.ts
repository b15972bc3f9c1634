import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createServer } from 'node:http'
import type { ConsolaInstance } from 'consola'
import type { ResolvedConfig } from './config/types.ts'
import { Gateway } from './gateway/gateway.ts'
import { createLogger } from './logger.ts'

export interface StartOptions {
  /** `dev` runs plugins in dev mode (the CLI adds hot reload). */
  mode?: 'run' | 'dev'
  /** Defaults to a logger at the config's level. */
  log?: ConsolaInstance
}

export interface RunningGateway {
  gateway: Gateway
  /** `http://host:port`, with the port actually bound. */
  url: string
  port: number
  server: Server
  /** Re-listens when host or port changed (dev reload). */
  relisten(host: string, port: number): Promise<void>
  /** Stops listening, waits for in-flight requests (up to the grace period), disposes everything. */
  close(graceMs?: number): Promise<boolean>
}

interface Listener {
  server: Server
  close(): Promise<void>
}

/** Listens on host:port; fails (instead of picking another port) when the port is taken. */
function bind(handler: Gateway['handler'], upgradeHandler: Gateway['upgradeHandler'], host: string, port: number, continueHandler?: Gateway['continueHandler']): Promise<Listener> {
  const server = createServer({ keepAliveTimeout: 65_000 }, handler)
  server.on('upgrade', upgradeHandler)
  if (continueHandler) server.on('checkContinue', continueHandler)
  // Headers and idle timeouts are the upstream's business; a long stream must not be cut here.
  server.requestTimeout = 0
  server.headersTimeout = 60_000
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve({
        server,
        close: () => new Promise<void>((done) => {
          server.close(() => done())
          server.closeIdleConnections()
        }),
      })
    })
  })
}

/** Starts serving a resolved config. */
export async function startGateway(config: ResolvedConfig, options: StartOptions = {}): Promise<RunningGateway> {
  const log = options.log ?? createLogger(config.logLevel)
  const gateway = await Gateway.create(config, { mode: options.mode ?? 'run', log })
  const handler = gateway.handler
  const upgradeHandler = gateway.upgradeHandler
  const continueHandler = gateway.continueHandler
  let listener = await bind(handler, upgradeHandler, config.server.host, config.server.port, continueHandler)
  const running: RunningGateway = {
    gateway,
    url: '',
    port: 0,
    server: listener.server,
    async relisten(host, port) {
      const next = await bind(handler, upgradeHandler, host, port, continueHandler)
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
    const address = listener.server.address() as AddressInfo
    const host = address.address.includes(':') ? `[${address.address}]` : address.address
    running.port = address.port
    running.url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`
    running.server = listener.server
  }
  update()
  return running
}
