import type { ArgsDef } from 'citty'

/** Flags shared by `aifd run` and `aifd dev`. */
export const serveArgs = {
  config: { type: 'string', valueHint: 'file', description: 'Config file (default: forward.config.{ts,mjs,js,json} in the current folder)', alias: 'c' },
  port: { type: 'string', valueHint: 'port', description: 'Port to listen on (overrides server.port)', alias: 'p' },
  host: { type: 'string', valueHint: 'host', description: 'Host to bind (overrides server.host)' },
  webui: { type: 'boolean', description: 'Serve the dashboard and /metrics on the admin listener' },
  workers: { type: 'string', valueHint: 'n|auto', description: 'Worker processes sharing the port: a number or "auto" (one per core)', default: '1' },
} as const satisfies ArgsDef

export interface ServeFlags {
  config?: string
  port?: string
  host?: string
}

/** CLI flags as config overrides; a bad port is reported like a config error. */
export function serverOverrides(flags: ServeFlags): { port?: number; host?: string } {
  const out: { port?: number; host?: string } = {}
  if (flags.port !== undefined) {
    const port = Number(flags.port)
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: must be a port number, got "${flags.port}"`)
    out.port = port
  }
  if (flags.host !== undefined) out.host = flags.host
  return out
}
