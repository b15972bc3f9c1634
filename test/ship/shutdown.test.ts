import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { spawnGateway } from '../helpers/cli.ts'

let mock: MockUpstream
let dir: string

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  dir = mkdtempSync(join(tmpdir(), 'aifd-shutdown-'))
  writeFileSync(join(dir, 'forward.config.mjs'), `export default { routes: { openai: { path: '/', target: '${mock.url}' } }, server: { gracePeriod: 20 } }\n`)
})
afterAll(() => mock.close())

async function readStream(res: Response): Promise<string> {
  return await res.text()
}

describe('graceful shutdown', () => {
  it('SIGTERM during 20 open streams: all 20 complete, then the process exits 0', async () => {
    const gw = await spawnGateway(join(dir, 'forward.config.mjs'))
    const body = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true })
    const streams = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-mock-chunks': '10', 'x-mock-chunk-delay-ms': '100' },
          body,
        }),
      ),
    )
    // Every stream has started (headers received) before the signal.
    expect(streams.every((r) => r.status === 200)).toBe(true)
    const texts = Promise.all(streams.map(readStream))
    const code = gw.stop('SIGTERM')
    // While draining, new connections are refused or answered 503; in-flight streams go on.
    const done = await texts
    for (const text of done) {
      expect(text).toContain('data: [DONE]')
      expect(text.match(/"chat.completion.chunk"/g)!.length).toBeGreaterThanOrEqual(10)
    }
    expect(await code).toBe(0)
    expect(gw.output()).toContain('SIGTERM')
  })

  it('a second signal exits at once, without waiting for streams', async () => {
    const gw = await spawnGateway(join(dir, 'forward.config.mjs'))
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test', 'x-mock-chunks': '100', 'x-mock-chunk-delay-ms': '200' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    })
    expect(res.status).toBe(200)
    const started = Date.now()
    gw.child.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 200))
    gw.child.kill('SIGTERM')
    const code = await gw.exited
    expect(Date.now() - started).toBeLessThan(5000)
    expect(code).not.toBe(0)
    await res.text().catch(() => '')
  })
})
