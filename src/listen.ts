import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { listen } from 'listhen'

/** A URL the listener answers on, as listhen reports it. */
export interface ListenerURL {
  url: string
  /** `local` (this machine), `network` (an interface address, when bound to all of them). */
  type: 'local' | 'network' | 'tunnel' | 'extra'
}

export interface NodeListener {
  server: Server
  /** The address actually bound, e.g. `0.0.0.0:8000` or `[::1]:8000`. */
  address: string
  port: number
  /** A URL this machine can connect to (loopback when bound to every interface). */
  url: string
  /** listhen's URLs: the local one, and one per network interface when bound to all of them. */
  urls: ListenerURL[]
  /** Stops accepting; idle keep-alive connections close now, busy ones after their response. */
  close(): Promise<void>
}

export interface ListenOptions {
  host: string
  port: number
  /** The `'upgrade'` listener (WebSocket), if any. */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
  /** Names the listener in the error for a taken port (`webui: port 8001 …`). */
  name?: string
  /** What to tell the user to change when the port is taken. */
  portHint?: string
}

function isAnyHost(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::'
}

/**
 * Serves a Node handler with listhen, keeping what a gateway needs that listhen's defaults do
 * not: a taken port fails (listhen would move to another one and print it), signals are ours
 * (listhen's `autoClose` exits on SIGTERM at once, before in-flight streams drain), nothing is
 * printed (the banner shows listhen's URLs), and an address is never rewritten.
 */
export async function listenNode(handler: (req: IncomingMessage, res: ServerResponse) => void, options: ListenOptions): Promise<NodeListener> {
  const { host, port } = options
  let listener
  try {
    listener = await listen(handler, {
      hostname: host,
      // Only the port asked for: no alternative range, no random fallback (port 0 asks for a free one).
      port: { port, portRange: [], alternativePortRange: [], random: port === 0 } as never,
      public: isAnyHost(host),
      showURL: false,
      autoClose: false,
      open: false,
      clipboard: false,
      qr: false,
      // Attached as the server's 'upgrade' listener (listhen's type names only two of its three arguments).
      ws: options.upgrade as never,
    })
  } catch (error) {
    const taken = (error as Error).name === 'GetPortError' || (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
    if (!taken) throw error
    const prefix = options.name ? `${options.name}: ` : ''
    throw Object.assign(new Error(`${prefix}port ${port} on ${host} is already in use${options.portHint ? `; ${options.portHint}` : ''}`), { code: 'EADDRINUSE' })
  }
  const server = listener.server as Server
  // listhen adds http-shutdown, which hangs a closure on every response to track idle sockets for
  // its own close(); Node's closeIdleConnections() does that job here, so that listener goes.
  for (const fn of server.listeners('request')) if (fn !== handler) server.off('request', fn as never)
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const loopback = isAnyHost(address.address) ? (address.family === 'IPv6' ? '[::1]' : '127.0.0.1') : shown
  // listhen names an all-interfaces listener's local URL by its bind address (`http://0.0.0.0:…`),
  // which is not a place to browse to.
  const urls = (await listener.getURLs()).map(({ url, type }) => ({ url: url.replace(/\/$/, '').replace(/^http:\/\/(0\.0\.0\.0|\[::\])(?=:)/, 'http://localhost'), type }))
  return {
    server,
    address: `${shown}:${address.port}`,
    port: address.port,
    url: `http://${loopback}:${address.port}`,
    urls,
    close: () => new Promise<void>((done) => {
      server.close(() => done())
      server.closeIdleConnections()
    }),
  }
}
