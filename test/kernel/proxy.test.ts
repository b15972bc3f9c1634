import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway } from '../helpers/gateway.ts'
import { sdk } from './util.ts'

/** A minimal HTTP proxy (CONNECT tunnels, as undici's ProxyAgent uses) that records what it tunnelled. */
function startProxy(): Promise<{ url: string; tunnels: string[]; close(): Promise<void> }> {
  const tunnels: string[] = []
  const server = http.createServer((_req, res) => res.writeHead(405).end())
  server.on('connect', (req, socket, head) => {
    tunnels.push(req.url ?? '')
    const [host, port] = (req.url ?? '').split(':')
    const upstream = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    upstream.on('error', () => socket.destroy())
    socket.on('error', () => upstream.destroy())
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      resolve({ url: `http://127.0.0.1:${port}`, tunnels, close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()) }) })
    })
  })
}

let mock: MockUpstream
let proxy: Awaited<ReturnType<typeof startProxy>>

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  proxy = await startProxy()
})
afterAll(async () => {
  await proxy?.close()
  await mock?.close()
})

describe('outbound proxy', () => {
  it('a route with `proxy` reaches its upstream through the proxy', async () => {
    const gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url, proxy: proxy.url } } })
    try {
      const before = proxy.tunnels.length
      const answer = await sdk(gw.url).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'via proxy' }] })
      expect(answer.choices[0].message.content).toContain('via proxy')
      expect(proxy.tunnels.slice(before)).toContain(new URL(mock.url).host)
    } finally {
      await gw.stop()
    }
  })

  it('the top-level `proxy` applies to every route; without one, requests go direct', async () => {
    const viaProxy = await startTestGateway({ proxy: proxy.url, routes: { openai: { path: '/', target: mock.url } } })
    const direct = await startTestGateway({ routes: { openai: { path: '/', target: mock.url } } })
    try {
      const before = proxy.tunnels.length
      await sdk(direct.url).models.list()
      expect(proxy.tunnels.length).toBe(before)
      await sdk(viaProxy.url).models.list()
      expect(proxy.tunnels.length).toBe(before + 1)
    } finally {
      await viaProxy.stop()
      await direct.stop()
    }
  })

  it('an unreachable proxy is a 502 in OpenAI shape, never a crash', async () => {
    const gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url, proxy: 'http://127.0.0.1:9' } } })
    try {
      const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer sk-test' } })
      expect(res.status).toBe(502)
      expect((await res.json()).error.code).toBe('upstream_unreachable')
    } finally {
      await gw.stop()
    }
  })

  it('HTTP_PROXY from the environment is honoured, and NO_PROXY exempts hosts', async () => {
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY }
    process.env.HTTP_PROXY = proxy.url
    try {
      const proxied = await startTestGateway({ routes: { openai: { path: '/', target: mock.url } } })
      const before = proxy.tunnels.length
      await sdk(proxied.url).models.list()
      expect(proxy.tunnels.length).toBe(before + 1)
      await proxied.stop()

      process.env.NO_PROXY = '127.0.0.1'
      const exempt = await startTestGateway({ routes: { openai: { path: '/', target: mock.url } } })
      await sdk(exempt.url).models.list()
      expect(proxy.tunnels.length).toBe(before + 1)
      await exempt.stop()
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    }
  })
})
