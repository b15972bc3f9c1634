// A forwarded route tells h3 "handled" before its forward has run; a forward that breaks afterwards
// is answered by the route itself, in OpenAI's error shape, and the gateway keeps serving.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import type { ForwardPlugin } from '../../src/index.ts'
import { captureLogger } from '../helpers/capture-logger.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'

let mock: MockUpstream
let gw: TestGateway
const capture = captureLogger()

/** A broken plugin: an HTTP status Node refuses to write. */
const invalidStatus: ForwardPlugin = {
  name: 'invalidStatus',
  afterUpstream(_ctx, response) {
    ;(response as { status: number }).status = 99999
  },
}

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  gw = await startTestGateway(
    { routes: { broken: { path: '/broken', target: mock.url, plugins: [invalidStatus] }, openai: { path: '/', target: mock.url } } },
    { log: capture.log },
  )
})
afterAll(async () => {
  await gw?.stop()
  await mock?.close()
})

it('a forward that fails after the route took the request answers 500 in OpenAI shape, logs why, and the gateway keeps serving', async () => {
  const res = await fetch(`${gw.url}/broken/v1/models`)
  expect(res.status).toBe(500)
  expect(await res.json()).toEqual({ error: { message: 'Internal gateway error', type: 'api_error', param: null, code: 'internal_error' } })
  expect(capture.entries.some((e) => e.type === 'error' && e.text.includes('/broken/v1/models'))).toBe(true)
  const ok = await fetch(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer sk-test' } })
  expect(ok.status).toBe(200)
  expect((await ok.json()).object).toBe('list')
})
