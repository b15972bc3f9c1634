#!/usr/bin/env node
// The floor of a proxy on the gateway's stack (node:http, undici's `dispatch`): what any gateway
// built on it pays per request, before routing, plugins or h3. Reads the small body whole,
// dispatches it, writes the upstream's status, headers and body back; nothing else.
//
//   node bench/floor.mjs UPSTREAM_URL PORT      (bench:instructions --floor runs it)
import http from 'node:http'
import { Agent, util } from 'undici'
const [upstream, port] = [process.argv[2], Number(process.argv[3])]
const origin = new URL(upstream).origin
const agent = new Agent({ keepAliveTimeout: 30_000 })
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host'])
http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const headers = {}
    for (const k in req.headers) if (!HOP.has(k)) headers[k] = req.headers[k]
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
    agent.dispatch({ origin, path: req.url, method: req.method, headers, body }, {
      onConnect() {},
      onHeaders(status, raw) {
        const list = []
        for (let i = 0; i < raw.length; i += 2) {
          const name = util.headerNameToString(raw[i])
          if (!HOP.has(name)) list.push(name, raw[i + 1].latin1Slice(0, raw[i + 1].length))
        }
        res.writeHead(status, list)
        return true
      },
      onData(chunk) { res.write(chunk); return true },
      onComplete() { res.end() },
      onError(e) { res.destroy(e) },
    })
  })
}).listen(port, '127.0.0.1')
