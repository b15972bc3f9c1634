// Single flight: identical concurrent misses send one upstream request and share its answer.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { cache } from '../../plugins/index.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { assemble, chat, post, seen, sleep, sseData, until } from './cache-helpers.ts'

let mock: MockUpstream
let gw: TestGateway

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({ routes: { openai: { path: '/', target: mock.url, type: 'openai', plugins: [cache()] } } })
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})
beforeEach(() => mock.reset())

const url = '/v1/chat/completions'

async function send(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; cache: string | null; text: string }> {
  const res = await post(gw.url, url, body, headers)
  return { status: res.status, cache: res.headers.get('x-aifd-cache'), text: await res.text() }
}

describe('cache single flight', () => {
  it('sends 10 concurrent identical JSON misses upstream once', async () => {
    const body = { ...chat('flight json'), caching: true }
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(body, { 'x-mock-delay-ms': '300' })))
    expect(seen(mock)).toHaveLength(1)
    expect(answers.every((a) => a.status === 200 && a.text === answers[0].text)).toBe(true)
    expect(answers.map((a) => a.cache).sort()).toEqual(['HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'HIT', 'MISS'])
  })

  it('fans one upstream stream out to 10 concurrent requests, each getting the whole identical stream', async () => {
    const body = { ...chat('flight stream'), stream: true, caching: true }
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(body, { 'x-mock-chunk-delay-ms': '20' })))
    expect(seen(mock)).toHaveLength(1)
    for (const answer of answers) expect(answer.text).toBe(answers[0].text)
    const events = sseData(answers[0].text)
    expect(events.at(-1)).toBe('[DONE]')
    expect((await assemble(events)).content).toBe(expectedReply('flight stream'))
  })

  it('gives a request that joins mid-stream the bytes so far, then the rest', async () => {
    const body = { ...chat('join late'), stream: true, caching: true }
    const leader = await post(gw.url, url, body, { 'x-mock-chunk-delay-ms': '40' })
    const reader = leader.body!.getReader()
    let leaderText = ''
    const decoder = new TextDecoder()
    while (sseData(leaderText).length < 5) leaderText += decoder.decode((await reader.read()).value, { stream: true })
    const late = send(body)
    for (let part = await reader.read(); !part.done; part = await reader.read()) leaderText += decoder.decode(part.value, { stream: true })
    const joined = await late
    expect(joined.cache).toBe('HIT')
    expect(joined.text).toBe(leaderText)
    expect(seen(mock)).toHaveLength(1)
  })

  it('answers a waiter that wants JSON from a leader that streams, once it completes', async () => {
    const body = { ...chat('mixed forms'), caching: true }
    const leader = send({ ...body, stream: true }, { 'x-mock-chunk-delay-ms': '20' })
    await until(() => seen(mock).length === 1)
    const waiter = await send(body)
    const streamed = await assemble(sseData((await leader).text))
    expect(waiter.cache).toBe('HIT')
    const json = JSON.parse(waiter.text)
    expect(json.object).toBe('chat.completion')
    expect(json.choices[0].message.content).toBe(streamed.content)
    expect(seen(mock)).toHaveLength(1)
  })

  it('lets waiters ask the upstream themselves when the leader fails', async () => {
    const body = { ...chat('leader fails'), caching: true }
    const knobs = { 'x-mock-fail-times': '1', 'x-mock-fail-key': `lf-${Date.now()}`, 'x-mock-status': '500', 'x-mock-delay-ms': '200' }
    const leader = send(body, knobs)
    await until(() => seen(mock).length === 1)
    const waiters = await Promise.all(Array.from({ length: 4 }, () => send(body, knobs)))
    expect((await leader).status).toBe(500)
    expect(waiters.map((w) => [w.status, w.cache])).toEqual(Array(4).fill([200, 'MISS']))
    expect(seen(mock)).toHaveLength(5)
  })

  it('ends a shared stream with an error event when the leader goes away, and stores nothing', async () => {
    const body = { ...chat('leader leaves'), stream: true, caching: true }
    const controller = new AbortController()
    const leader = await post(gw.url, url, body, { 'x-mock-chunk-delay-ms': '40' }, controller.signal)
    const reader = leader.body!.getReader()
    await reader.read()
    const waiter = send(body)
    await sleep(100)
    controller.abort()
    const shared = await waiter
    const last = sseData(shared.text).at(-1)
    expect(last.error.code).toBe('shared_request_aborted')
    const next = await send(body)
    expect(next.cache).toBe('MISS')
    expect(seen(mock)).toHaveLength(2)
  })
})
