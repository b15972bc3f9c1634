import http from 'node:http'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { spawnGateway, type GatewayProcess } from '../helpers/cli.ts'

let mock: MockUpstream
let gw: GatewayProcess

/** The pid of the worker that answers, on a fresh connection each time so the kernel can balance. */
function healthPid(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(`${url}/healthz`, { agent: false }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve(JSON.parse(body).pid))
    }).on('error', reject)
  })
}

/** The pids that answer, until two of them did (or `ms` passed: a worker starting on a loaded machine may take seconds). */
async function pidsSeen(url: string, ms = 15_000, without?: number): Promise<Set<number>> {
  const pids = new Set<number>()
  const end = Date.now() + ms
  while (pids.size < 2 && Date.now() < end) {
    const pid = await healthPid(url).catch(() => undefined)
    if (pid !== undefined && pid !== without) pids.add(pid)
    else await new Promise((r) => setTimeout(r, 50))
  }
  return pids
}

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  const dir = mkdtempSync(join(tmpdir(), 'aifd-workers-'))
  writeFileSync(join(dir, 'forward.config.mjs'), `export default { routes: { openai: { path: '/', target: '${mock.url}' } } }\n`)
  gw = await spawnGateway(join(dir, 'forward.config.mjs'), ['--workers', '2'])
  // Both workers must be up before the test looks for them.
  await new Promise((r) => setTimeout(r, 500))
})
afterAll(async () => {
  await gw?.stop()
  await mock.close()
})

describe('--workers 2', () => {
  it('two worker processes serve the same port', { timeout: 30_000 }, async () => {
    const pids = await pidsSeen(gw.url)
    expect(pids.size).toBe(2)
    expect(pids.has(gw.child.pid!)).toBe(false)
    const res = await fetch(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer sk-test' } })
    expect(res.status).toBe(200)
  })

  it('the banner warns that memory storage is per worker', () => {
    expect(gw.output()).toMatch(/2 workers on memory storage/)
  })

  it('a worker that dies is replaced and serving goes on', { timeout: 30_000 }, async () => {
    const before = await pidsSeen(gw.url)
    const victim = [...before][0]
    process.kill(victim, 'SIGKILL')
    await new Promise((r) => setTimeout(r, 200))
    const after = await pidsSeen(gw.url, 15_000, victim)
    expect(after.size).toBe(2)
    expect(after.has(victim)).toBe(false)
    expect(gw.output()).toMatch(new RegExp(`worker ${victim} exited`))
  })

  it('SIGTERM stops every worker and the primary exits 0', async () => {
    const code = await gw.stop('SIGTERM')
    expect(code).toBe(0)
  })
})
