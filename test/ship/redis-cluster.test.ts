import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cache, rateLimit } from '../../plugins/index.ts'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { freePort, hasRedis, waitForRedisKey } from '../helpers/redis.ts'

/** Three masters on loopback, every slot covered: the smallest real Redis Cluster. */
async function startCluster(): Promise<{ nodes: Array<{ host: string; port: number }>; stop(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'aifd-cluster-'))
  const ports = [await freePort(), await freePort(), await freePort()]
  const children: ChildProcess[] = ports.map((port) =>
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }),
  )
  for (const port of ports) {
    for (let i = 0; i < 100 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) await new Promise((r) => setTimeout(r, 50))
  }
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' })
  if (create.status !== 0) throw new Error(`cluster create failed: ${create.stdout}${create.stderr}`)
  for (let i = 0; i < 100; i++) {
    if (ports.every((p) => spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok'))) break
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    nodes: ports.map((port) => ({ host: '127.0.0.1', port })),
    stop() {
      for (const child of children) child.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

describe.skipIf(!hasRedis)('storage on a Redis Cluster', () => {
  let cluster: Awaited<ReturnType<typeof startCluster>>
  let mock: MockUpstream
  const gateways: TestGateway[] = []

  beforeAll(async () => {
    cluster = await startCluster()
    mock = await startMockUpstream({ port: 0, record: false })
    for (let i = 0; i < 2; i++) {
      gateways.push(await startTestGateway({
        storage: { driver: 'redis', cluster: cluster.nodes },
        routes: {
          openai: { path: '/', target: mock.url, plugins: [rateLimit({ limit: '30/minute', scope: 'global' })] },
          cached: { path: '/cached', target: mock.url, plugins: [cache()] },
        },
      }))
    }
  }, 30_000)
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()))
    await mock?.close()
    cluster?.stop()
  })

  const post = (url: string, body: object) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' }, body: JSON.stringify(body) })

  it('a global limit holds exactly across two instances', async () => {
    const statuses = await Promise.all(Array.from({ length: 90 }, (_, i) =>
      post(`${gateways[i % 2].url}/v1/chat/completions`, { model: 'gpt-4o', messages: [{ role: 'user', content: 'cluster' }] }).then(async (r) => (await r.arrayBuffer(), r.status))))
    expect(statuses.filter((s) => s === 200)).toHaveLength(30)
    expect(statuses.filter((s) => s === 429)).toHaveLength(60)
  })

  it('a cache entry written through one instance is a hit on the other', async () => {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'cluster cache' }], caching: true }
    expect((await post(`${gateways[0].url}/cached/v1/chat/completions`, body)).headers.get('x-aifd-cache')).toBe('MISS')
    await waitForRedisKey(cluster.nodes.map((n) => n.port), '*cache*')
    expect((await post(`${gateways[1].url}/cached/v1/chat/completions`, body)).headers.get('x-aifd-cache')).toBe('HIT')
  })
})
