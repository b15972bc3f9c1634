// Takes docs/dashboard.png: a gateway with the dashboard, a minute of mixed traffic through the
// mock upstream (models, keys, streams, cache hits, 429s, a few upstream errors), then a screenshot.
// Run: npx jiti test/webui/screenshot.ts   (about 75 s)
import { fileURLToPath } from 'node:url'
import OpenAI from 'openai'
import { chromium } from 'playwright-core'
import { startMockUpstream } from '../../playground/mock/server.ts'
import { cache } from '../../plugins/index.ts'
import { TOKEN, namer, refuser, startDashboard } from './helpers.ts'

const SECONDS = Number(process.env.SECONDS ?? 70)
const mock = await startMockUpstream({ port: 0, latencyMs: 40 })
const dash = await startDashboard(
  {
    openai: { path: '/', target: mock.url, type: 'openai', plugins: [cache()] },
    deepseek: { path: '/deepseek', target: mock.url, type: 'openai' },
  },
  { plugins: [namer, refuser] },
)

let seed = 7
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]
const keys = ['web-app', 'batch-job', 'alice', 'bob']
const questions = ['What is a gateway?', 'Summarise this article in three bullet points.', 'Write a haiku about latency.', 'Translate "good morning" into French.', 'Explain SSE in one paragraph.']

async function one(): Promise<void> {
  const key = pick(keys)
  const roll = random()
  const headers: Record<string, string> = { 'x-test-caller': key, 'x-mock-chunk-delay-ms': String(Math.floor(random() * 25)) }
  if (roll < 0.06) headers['x-test-refuse'] = '1'
  else if (roll < 0.09) headers['x-mock-status'] = '502'
  const route = random() < 0.25 ? '/deepseek' : ''
  const client = new OpenAI({ baseURL: `${dash.gateway.url}${route}/v1`, apiKey: 'sk-demo', maxRetries: 0, defaultHeaders: headers })
  const model = route ? 'deepseek-chat' : pick(['gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o'])
  const body: any = { model, messages: [{ role: 'user', content: pick(questions) }], caching: random() < 0.5 }
  try {
    if (random() < 0.5) {
      const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } })
      for await (const _ of stream as any);
    } else await client.chat.completions.create(body)
  } catch {
    // refusals and upstream errors are part of the picture
  }
}

const started = Date.now()
const pending: Promise<void>[] = []
while (Date.now() - started < SECONDS * 1000) {
  const t = (Date.now() - started) / 1000
  const rate = 6 + 5 * Math.sin(t / 9) + random() * 3
  for (let i = 0; i < Math.round(rate / 5); i++) pending.push(one())
  await new Promise((r) => setTimeout(r, 200))
}
await Promise.all(pending)

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] })
const page = await browser.newPage({ viewport: { width: 1440, height: 1050 }, deviceScaleFactor: 1 })
await page.goto(`${dash.admin.url}/?token=${TOKEN}`)
await page.locator('#live.ok').waitFor()
for (let i = 0; i < 4; i++) await one()
await page.waitForTimeout(1500)
const out = fileURLToPath(new URL('../../docs/dashboard.png', import.meta.url))
await page.screenshot({ path: out })
console.log(`wrote ${out}`)
await browser.close()
await dash.stop()
await mock.close()
