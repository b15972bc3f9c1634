// The admin server's API without a browser: what the live log keeps (and never keeps), the live
// stream's token, the config endpoints when editing is off, and the monitor's transparency.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { translate } from '../../plugins/index.ts'
import { TOKEN, namer, startDashboard, until, type Dashboard } from './helpers.ts'

let mock: MockUpstream
let dash: Dashboard

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  dash = await startDashboard({
    openai: { path: '/', target: mock.url, type: 'openai' },
    claude: { path: '/claude', target: mock.url, type: 'openai', plugins: [translate({ to: 'anthropic' })] },
  }, { plugins: [namer] })
})
afterAll(async () => {
  await dash?.stop()
  await mock?.close()
})

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(dash.gateway.url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-secret-upstream-key', ...headers }, body })

describe('admin API', () => {
  it('keeps the conversation and the caller name, never headers, keys or the query', async () => {
    const response = await post('/v1/chat/completions?key=sk-in-query', JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'keep me' }] }), { 'x-test-caller': 'alice' })
    expect(response.status).toBe(200)
    const id = response.headers.get('x-aifd-request-id')!
    await until(() => dash.hub.exchanges.get(id) !== undefined)
    const detail = await (await dash.get(`/api/exchanges/${id}`)).json()
    expect(detail).toMatchObject({ id, route: 'openai', path: '/v1/chat/completions', key: 'alice', status: 200, model: 'gpt-4o-mini', outcome: 'complete' })
    expect(detail.request.messages[0].content).toBe('keep me')
    expect(detail.answer.choices[0].content).toContain('keep me')
    const everything = JSON.stringify(detail) + JSON.stringify(await (await dash.get('/api/exchanges')).json())
    expect(everything).not.toContain('sk-secret-upstream-key')
    expect(everything).not.toContain('sk-in-query')
    expect((await dash.get('/api/exchanges/no-such-id')).status).toBe(404)
  })

  it('says which provider answered: openai on an openai route, anthropic through translate, with the translated answer', async () => {
    const plain = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'plain' }] }))
    const translated = await post('/claude/v1/chat/completions', JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'via claude' }], stream: true, stream_options: { include_usage: true } }))
    await translated.text()
    const [plainId, translatedId] = [plain.headers.get('x-aifd-request-id')!, translated.headers.get('x-aifd-request-id')!]
    await until(() => dash.hub.exchanges.get(plainId) !== undefined && dash.hub.exchanges.get(translatedId) !== undefined)
    expect((await (await dash.get(`/api/exchanges/${plainId}`)).json()).provider).toBe('openai')
    const detail = await (await dash.get(`/api/exchanges/${translatedId}`)).json()
    expect(detail).toMatchObject({ route: 'claude', provider: 'anthropic', stream: true, estimated: false })
    expect(detail.answer.choices[0]).toMatchObject({ content: expect.stringContaining('via claude'), finishReason: 'stop' })
    expect(detail.promptTokens).toBeGreaterThan(0)
    const listed = (await (await dash.get('/api/exchanges')).json()) as any
    expect(JSON.stringify(listed)).toContain('"provider":"anthropic"')
  })

  it('forwards a body that is not JSON unchanged, as without the dashboard', async () => {
    const response = await post('/v1/echo-headers', '{not json', {})
    expect(response.status).toBe(200)
    expect((await response.json()).bodyLength).toBe(9)
  })

  it('streams exchanges to a live-stream client with ?token=, and refuses a wrong one', async () => {
    expect((await fetch(`${dash.admin.url}/api/events?token=wrong`)).status).toBe(401)
    const controller = new AbortController()
    const events = await fetch(`${dash.admin.url}/api/events?token=${TOKEN}`, { signal: controller.signal })
    expect(events.headers.get('content-type')).toContain('text/event-stream')
    const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader()
    await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'live' }] }))
    let text = ''
    while (!text.includes('event: exchange')) text += (await reader.read()).value
    const data = JSON.parse(text.split('event: exchange\ndata: ')[1].split('\n')[0])
    expect(data.exchange).toMatchObject({ model: 'gpt-4o', status: 200 })
    expect(data.exchange).not.toHaveProperty('request')
    controller.abort()
  })

  it('answers stats for each range and refuses an unknown one', async () => {
    const stats = await (await dash.get('/api/stats?range=5m')).json()
    expect(stats.points).toHaveLength(300)
    expect(stats.step).toBe(1)
    expect(stats.lastMinute.requests).toBeGreaterThanOrEqual(3)
    expect(stats.usageToday.keys.find((k: any) => k.key === 'alice')).toMatchObject({ requests: 1 })
    // Dollars per caller and per model, today and this month (the same traffic, both periods).
    const alice = stats.usageToday.keys.find((k: any) => k.key === 'alice')
    expect(alice.costUsd).toBeGreaterThan(0)
    expect(stats.usageMonth.keys.find((k: any) => k.key === 'alice').costUsd).toBe(alice.costUsd)
    expect(stats.usageMonth.period).toMatch(/^\d{4}-\d{2}$/)
    expect(stats.usageToday.period).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(stats.usageToday.models.length).toBeGreaterThan(0)
    const spent = stats.usageToday.keys.reduce((sum: number, k: any) => sum + k.costUsd, 0)
    expect(stats.usageToday.models.reduce((sum: number, m: any) => sum + m.costUsd, 0)).toBeCloseTo(spent, 12)
    expect(stats.points.reduce((sum: number, p: any) => sum + p.costUsd, 0)).toBeCloseTo(spent, 12)
    expect((await (await dash.get('/api/stats?range=24h')).json()).points).toHaveLength(288)
    expect((await dash.get('/api/stats?range=1y')).status).toBe(400)
  })

  it('shows the config but refuses edits unless editConfig is on', async () => {
    const view = await (await dash.get('/api/config')).json()
    expect(view.editable).toBe(false)
    expect(view.source).toBeUndefined()
    expect(view.routes[0]).toMatchObject({ name: 'openai', targets: [mock.url] })
    const put = await fetch(`${dash.admin.url}/api/config`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ source: 'export default {}' }) })
    expect(put.status).toBe(403)
  })

  it('serves the page without the token, with a strict content security policy', async () => {
    const page = await fetch(`${dash.admin.url}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(page.headers.get('referrer-policy')).toBe('no-referrer')
    expect((await fetch(`${dash.admin.url}/../package.json`)).status).toBe(404)
    expect((await fetch(`${dash.admin.url}/api/config`)).status).toBe(401)
  })

  it('a web page on another origin cannot use the API: no cookie or ambient credential, no CORS, the query token only for the live stream', async () => {
    // What a cross-site form or fetch can send: no Authorization header.
    const forged = await fetch(`${dash.admin.url}/api/config`, { method: 'PUT', headers: { origin: 'https://evil.example', 'content-type': 'text/plain' }, body: JSON.stringify({ source: 'export default {}' }) })
    expect(forged.status).toBe(401)
    expect(forged.headers.get('access-control-allow-origin')).toBeNull()
    const preflight = await fetch(`${dash.admin.url}/api/config`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization' } })
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
    expect(preflight.headers.get('access-control-allow-headers')).toBeNull()
    // A token in the query (which can leak through logs and history) is taken only where a header cannot be set.
    for (const path of ['/api/config', '/api/exchanges', '/api/stats', '/metrics']) {
      expect([path, (await fetch(`${dash.admin.url}${path}?token=${TOKEN}`)).status]).toEqual([path, 401])
    }
    expect((await fetch(`${dash.admin.url}/api/playground?token=${TOKEN}`, { method: 'POST', body: '{}' })).status).toBe(401)
  })
})
