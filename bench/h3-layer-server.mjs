#!/usr/bin/env node
// One way of putting h3 in front of a Node handler that writes its own response, for
// bench/h3-layer.mjs:  node bench/h3-layer-server.mjs <variant> <port>
import http from 'node:http'

const [variant, port] = process.argv.slice(2)
const BODY = JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model' }] })
/** What a forwarded route does: write the answer to Node itself. */
function answer(res) {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) })
  res.end(BODY)
}
const HANDLED = Symbol.for('h3.handled')

async function handlerFor(name) {
  if (name === 'node') return (req, res) => answer(res)
  if (name.startsWith('h3v2')) {
    const { H3 } = await import('h3')
    const { toNodeHandler } = await import('h3/node')
    const { NodeRequest, sendNodeResponse } = await import('srvx/node')
    const app = new H3()
    if (name === 'h3v2-response') {
      // h3's own way: the handler returns a web Response, srvx writes it.
      app.all('/**', () => new Response(BODY, { headers: { 'content-type': 'application/json' } }))
      return toNodeHandler(app)
    }
    app.all('/**', (event) => {
      answer(event.runtime.node.res)
      return HANDLED
    })
    // h3's Node adapter: sends what the app returned, ending the response a second time.
    if (name === 'h3v2-adapter') return toNodeHandler(app)
    // The gateway's way (src/gateway/app.ts): send only what a route did not write itself.
    return (req, res) => {
      const send = (r) => (res.headersSent || res.destroyed ? undefined : sendNodeResponse(res, r))
      const out = app.fetch(new NodeRequest({ req, res }))
      if (out instanceof Promise) out.then(send)
      else send(out)
    }
  }
  if (name === 'h3v1') {
    const { createApp, createRouter, eventHandler, toNodeListener } = await import('h3-v1')
    const router = createRouter().use('/**', eventHandler((event) => answer(event.node.res)))
    return toNodeListener(createApp().use(router))
  }
  throw new Error(`unknown variant ${name}`)
}

const server = http.createServer(await handlerFor(variant))
server.keepAliveTimeout = 65_000
server.listen(Number(port), '127.0.0.1')
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
