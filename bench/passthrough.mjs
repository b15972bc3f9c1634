#!/usr/bin/env node
// Bare Node passthrough proxy: the floor for any Node gateway.
//
//   node bench/passthrough.mjs --upstream http://127.0.0.1:PORT --port N [--host 127.0.0.1]
//
// node:http server + undici.request over one pooled Agent. Forwards method, path
// and headers (minus hop-by-hop and host), pipes the request body up and the
// response body down. No parsing of bodies, no routing, no logging.
import http from 'node:http'
import { parseArgs } from 'node:util'
import { Agent, request } from 'undici'

const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
  },
})
if (!values.upstream) {
  console.error('usage: passthrough.mjs --upstream URL --port N [--host 127.0.0.1]')
  process.exit(2)
}
const upstream = new URL(values.upstream)
const origin = upstream.origin
const basePath = upstream.pathname.replace(/\/$/, '')

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host',
])

const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000, pipelining: 1 })

/** @param {http.IncomingHttpHeaders | Record<string, string | string[] | undefined>} h */
function filterHeaders(h) {
  /** @type {Record<string, string | string[]>} */
  const out = {}
  for (const k in h) {
    const v = h[k]
    if (v === undefined || HOP_BY_HOP.has(k)) continue
    out[k] = v
  }
  return out
}

const server = http.createServer((req, res) => {
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  request(origin + basePath + (req.url ?? '/'), {
    method: /** @type {any} */ (method),
    headers: filterHeaders(req.headers),
    body: hasBody ? req : undefined,
    dispatcher: agent,
  }).then(({ statusCode, headers, body }) => {
    res.writeHead(statusCode, filterHeaders(headers))
    // .pipe, not stream.pipeline: pipeline() tears down the keep-alive response and
    // roughly doubles CPU/req here. Client gone mid-stream -> drop the upstream body.
    body.on('error', () => res.destroy())
    res.on('close', () => { if (!res.writableFinished) body.destroy() })
    body.pipe(res)
  }, (err) => {
    if (res.headersSent) { res.destroy(); return }
    res.writeHead(502, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: { message: `passthrough: ${err?.code ?? err?.message ?? err}` } }))
  })
})
server.keepAliveTimeout = 30_000

server.listen(Number(values.port), values.host, () => {
  const a = /** @type {import('node:net').AddressInfo} */ (server.address())
  console.log(`passthrough listening on http://${a.address}:${a.port} -> ${origin}${basePath}`)
})

// Die with the harness even if it is SIGKILLed: the harness holds our stdin pipe.
if (!process.stdin.isTTY) {
  process.stdin.on('end', () => process.exit(0))
  process.stdin.on('error', () => process.exit(0))
  process.stdin.resume()
}
for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM'])) process.on(sig, () => process.exit(0))
