// The dashboard end to end, in a real headless Chromium (Debian's, driven by playwright-core):
// the live log, the conversation view, a chart, the playground, the token, the config page and editor.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import OpenAI from 'openai'
import { chromium, type Browser, type Page } from 'playwright-core'
import { expectedReply, startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { loadForwardConfig, startGateway, type ForwardPlugin, type RunningGateway } from '../../src/index.ts'
import { createLogger } from '../../src/logger.ts'
import { createMonitorHub, startAdmin, withMonitor, type RunningAdmin } from '../../src/admin/index.ts'
import { cache } from '../../plugins/index.ts'
import { TOKEN, namer, startDashboard, type Dashboard } from './helpers.ts'

/** Slows the mock's stream (30 ms between chunks), so the page can be seen streaming. */
const slowStream: ForwardPlugin = {
  name: 'slowStream',
  describe: () => '30 ms between chunks',
  beforeUpstream(_ctx, attempt) {
    attempt.headers['x-mock-chunk-delay-ms'] = '30'
  },
}

let mock: MockUpstream
let dash: Dashboard
let browser: Browser

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  dash = await startDashboard(
    {
      openai: { path: '/', target: mock.url, type: 'openai', plugins: [cache()] },
      slow: { path: '/slow', target: mock.url, type: 'openai', plugins: [slowStream] },
    },
    { plugins: [namer] },
  )
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
})

afterAll(async () => {
  await browser?.close()
  await dash?.stop()
  await mock?.close()
})

const sdk = (caller: string) => new OpenAI({ baseURL: `${dash.gateway.url}/v1`, apiKey: 'sk-test', maxRetries: 0, defaultHeaders: { 'x-test-caller': caller } })

async function openDashboard(url: string, token = TOKEN): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  await page.goto(`${url}/?token=${encodeURIComponent(token)}`)
  return page
}

/** Reads `read()` until `done` holds or 3 s (three ticks) pass, and returns the last reading. */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 3000
  let value = await read()
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100))
    value = await read()
  }
  return value
}

/** Rows of the canvas where the requests line (accent colour) is drawn: 1–2 when flat, many after a spike. */
function lineRows(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-chart="requests"]')!
    const { width, height } = canvas
    const data = canvas.getContext('2d')!.getImageData(0, 0, width, height).data
    let rows = 0
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4
        if (Math.abs(data[i] - 16) + Math.abs(data[i + 1] - 163) + Math.abs(data[i + 2] - 127) < 60 && data[i + 3] > 200) {
          rows++
          break
        }
      }
    }
    return rows
  })
}

describe('dashboard', () => {
  let page: Page

  it('loads with the token from the URL, then drops it from the address bar', async () => {
    page = await openDashboard(dash.admin.url)
    await page.locator('#live.ok').waitFor({ timeout: 5000 })
    expect(await page.locator('#app').isVisible()).toBe(true)
    expect(new URL(page.url()).search).toBe('')
    expect(await page.locator('#log-empty').isVisible()).toBe(true)
  })

  it('shows a request made through the gateway in the live log within a second, and a chart moves', async () => {
    const flat = await lineRows(page)
    const started = Date.now()
    await sdk('alice').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello **dashboard** <img src=x onerror="window.pwned=1">' }] })
    const row = page.locator('#log tbody tr').first()
    await row.waitFor({ timeout: 1000 })
    expect(Date.now() - started).toBeLessThan(1500)
    const text = await row.innerText()
    expect(text).toContain('openai')
    expect(text).toContain('gpt-4o-mini')
    expect(text).toContain('alice')
    expect(text).toContain('200')
    for (let i = 0; i < 5; i++) await sdk('bob').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `more ${i}` }] })
    // A tick (once a second) draws the spike.
    await page.waitForFunction(() => document.querySelector('[data-card="rps"]')!.textContent !== '0', undefined, { timeout: 3000 })
    expect(await waitFor(() => lineRows(page), (rows) => rows > flat + 5)).toBeGreaterThan(flat + 5)
    expect(await page.locator('#log tbody tr').count()).toBe(6)
    expect(await page.locator('#keys tbody').innerText()).toMatch(/bob\s+5/)
  })

  it('shows what each key and model spent, today and this month, and charts the spend', async () => {
    await sdk('carol').chat.completions.create({ model: 'mystery-model', messages: [{ role: 'user', content: 'no price for me' }] })
    await page.locator('#keys tbody tr', { hasText: 'carol' }).waitFor({ timeout: 3000 })
    const keys = await page.locator('#keys tbody').innerText()
    // bob's 5 gpt-4o answers cost more than alice's one gpt-4o-mini answer: listed first, in dollars.
    expect(keys.split('\n')[0]).toMatch(/^bob\s+5\s.*\$0\.\d+/)
    expect(keys).toMatch(/alice\s+1\s.*\$/)
    expect(keys).toMatch(/carol\s+1\s[\s\S]*unpriced 1/)
    const models = await page.locator('#models tbody').innerText()
    expect(models).toMatch(/gpt-4o\s+5\s/)
    expect(models).toMatch(/mystery-model\s+1\s[\s\S]*unpriced 1/)
    expect(await page.locator('[data-card="spend"]').innerText()).toMatch(/^\$0\.\d+/)
    expect(await page.locator('#log tbody tr', { hasText: 'mystery-model' }).innerText()).toContain('unpriced')
    expect(await page.locator('#log tbody tr', { hasText: 'bob' }).first().innerText()).toMatch(/\$0\.\d+/)
    await page.locator('#usage-periods [data-period="month"]').click()
    expect(await page.locator('#keys-day').innerText()).toMatch(/^\d{4}-\d{2}$/)
    expect(await page.locator('#keys tbody').innerText()).toMatch(/bob\s+5\s/)
    await page.locator('#usage-periods [data-period="today"]').click()
    expect(await page.locator('#keys-day').innerText()).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    // The spend chart has drawn its line: more than the flat baseline's one or two rows.
    const costRows = () => page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('[data-chart="cost"]')!
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data
      let count = 0
      for (let y = 0; y < canvas.height; y++) {
        for (let x = 0; x < canvas.width; x++) {
          const i = (y * canvas.width + x) * 4
          if (Math.abs(data[i] - 16) + Math.abs(data[i + 1] - 163) + Math.abs(data[i + 2] - 127) < 60 && data[i + 3] > 200) { count++; break }
        }
      }
      return count
    })
    expect(await waitFor(costRows, (rows) => rows > 5)).toBeGreaterThan(5)
  })

  it('opens the whole conversation, rendered as safe Markdown, and the raw JSON', async () => {
    await page.locator('#log tbody tr', { hasText: 'alice' }).click()
    const dialog = page.locator('#exchange')
    await dialog.waitFor()
    expect(await dialog.locator('#ex-facts').innerText()).toMatch(/Provider\s+openai/)
    const conversation = dialog.locator('#ex-conversation')
    expect(await conversation.locator('.msg.user strong').innerText()).toBe('dashboard')
    // The HTML in the message is shown as text, never run.
    expect(await conversation.locator('img').count()).toBe(0)
    expect(await conversation.locator('.msg.user').innerText()).toContain('<img src=x onerror="window.pwned=1">')
    expect(await page.evaluate(() => (window as any).pwned)).toBeUndefined()
    const reply = expectedReply('Hello **dashboard** <img src=x onerror="window.pwned=1">')
    expect(await conversation.locator('.msg.assistant').innerText()).toContain(reply.replace(/\*\*/g, '').slice(0, 30))
    await dialog.locator('[data-view="raw"]').click()
    const request = JSON.parse(await dialog.locator('#ex-request').innerText())
    expect(request.model).toBe('gpt-4o-mini')
    const response = JSON.parse(await dialog.locator('#ex-response').innerText())
    expect(response.choices[0].message.content).toBe(reply)
    // Only the caller's name, never the key or any header.
    expect(await dialog.innerText()).not.toContain('sk-test')
    await dialog.locator('#ex-close').click()
  })

  it('streams an answer in the playground, through the gateway', async () => {
    await page.locator('[data-tab="playground"]').click()
    await page.locator('#pg-route').selectOption('slow')
    await page.locator('#pg-key').fill('sk-playground')
    await page.locator('#pg-input').fill('stream to me')
    await page.locator('#pg-send').click()
    const streaming = page.locator('#pg-thread .msg.streaming')
    await page.waitForFunction(() => (document.querySelector('#pg-thread .msg.streaming')?.textContent ?? '').includes('Hello!'), undefined, { timeout: 3000 })
    const partial = await streaming.innerText()
    await streaming.waitFor({ state: 'detached', timeout: 5000 })
    const answer = await page.locator('#pg-thread .msg.assistant').last().innerText()
    expect(answer).toContain(expectedReply('stream to me'))
    expect(partial.length).toBeLessThan(answer.length)
    expect(await page.locator('#pg-status').innerText()).toContain('done')
    // The upstream got the key typed in the page, through the slow route.
    expect(mock.requests.at(-1)!.apiKey).toBe('sk-playground')
    expect(mock.requests.at(-1)!.headers['x-mock-chunk-delay-ms']).toBe('30')
  })

  it('lists routes, targets and plugin chains on the config page', async () => {
    await page.locator('[data-tab="config"]').click()
    const routes = page.locator('#routes tbody')
    await routes.locator('tr').nth(1).waitFor()
    const text = await routes.innerText()
    expect(text).toContain('openai')
    expect(text).toContain('/slow')
    expect(text).toContain(mock.url)
    expect(text).toContain('slowStream')
    expect(text).toContain('30 ms between chunks')
    expect(await page.locator('#global-plugins').innerText()).toMatch(/monitor[\s\S]*namer/)
    expect(await page.locator('#editor-panel').isVisible()).toBe(false)
    await page.close()
  })

  it('refuses a wrong token and asks for the right one', async () => {
    const wrong = await openDashboard(dash.admin.url, 'not-the-token')
    await wrong.locator('#login').waitFor()
    expect(await wrong.locator('#login-error').innerText()).toContain('refused')
    expect(await wrong.locator('#app').isVisible()).toBe(false)
    await wrong.locator('#login-token').fill(TOKEN)
    await wrong.locator('#login-form button').click()
    await wrong.locator('#live.ok').waitFor({ timeout: 5000 })
    expect(await wrong.locator('#log tbody tr').count()).toBeGreaterThan(0)
    await wrong.close()
  })

  it('shows hostile model names, caller names and links as text in the live log and the conversation, never as markup', async () => {
    const hostile = await openDashboard(dash.admin.url)
    await hostile.locator('#live.ok').waitFor({ timeout: 5000 })
    const model = '<img src=x onerror="window.pwned=2">'
    const caller = '<svg onload="window.pwned=3">'
    await sdk(caller).chat.completions.create({ model, messages: [{ role: 'user', content: '[x](javascript:window.pwned=4) [y](http://a/"onmouseover="window.pwned=5) `<script>window.pwned=6</script>`' }] })
    const row = hostile.locator('#log tbody tr', { hasText: 'onerror' }).first()
    await row.waitFor({ timeout: 2000 })
    expect(await row.innerText()).toContain(model)
    expect(await row.innerText()).toContain(caller)
    expect(await hostile.locator('#log img, #log svg').count()).toBe(0)
    await row.click()
    const conversation = hostile.locator('#ex-conversation')
    await conversation.locator('.msg.user').waitFor()
    expect(await conversation.locator('script, img, svg, [onmouseover]').count()).toBe(0)
    expect(await conversation.locator('a[href^="javascript:"]').count()).toBe(0)
    expect(await hostile.locator('#ex-facts').innerText()).toContain(model)
    expect(await hostile.evaluate(() => (window as any).pwned)).toBeUndefined()
    await hostile.close()
  })
})

describe('config editor (webui.editConfig)', () => {
  let folder: string
  let file: string
  let gateway: RunningGateway
  let admin: RunningAdmin
  const source = (routes: string) => `export default {\n  server: { port: 0, host: '127.0.0.1' },\n  routes: {\n${routes}\n  },\n}\n`
  const original = () => source(`    openai: { path: '/', target: '${mock.url}', type: 'openai' },`)

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'aifd-webui-'))
    file = join(folder, 'forward.config.ts')
    writeFileSync(file, original())
    const hub = createMonitorHub({ processMetrics: false })
    gateway = await startGateway(withMonitor(await loadForwardConfig({ configFile: file }), hub), { log: createLogger('silent', false) })
    admin = await startAdmin({ gateway, hub, port: 0, token: TOKEN, editConfig: true })
  })

  afterAll(async () => {
    await admin?.close()
    await gateway?.close(0)
    rmSync(folder, { recursive: true, force: true })
  })

  it('refuses a broken config with the loader’s message and leaves the file alone; a good one reloads', async () => {
    const page = await openDashboard(admin.url)
    await page.locator('[data-tab="config"]').click()
    const editor = page.locator('#editor')
    await page.waitForFunction(() => (document.querySelector<HTMLTextAreaElement>('#editor')?.value ?? '').includes('routes'))
    expect(await editor.inputValue()).toBe(original())

    await editor.fill(source(`    openai: { path: '/', target: 'not a url', type: 'openai' },`))
    await page.locator('#editor-save').click()
    const status = page.locator('#editor-status.error')
    await status.waitFor({ timeout: 5000 })
    expect(await status.innerText()).toContain('routes.openai.target')
    expect(await status.innerText()).toContain(file)
    expect(readFileSync(file, 'utf8')).toBe(original())
    expect(existsSync(`${file}.bak`)).toBe(false)
    expect(gateway.gateway.config.routes.map((r) => r.name)).toEqual(['openai'])

    const good = source(`    openai: { path: '/', target: '${mock.url}', type: 'openai' },\n    second: { path: '/second', target: '${mock.url}', type: 'openai' },`)
    await editor.fill(good)
    await page.locator('#editor-save').click()
    await page.locator('#editor-status.ok').waitFor({ timeout: 5000 })
    expect(readFileSync(file, 'utf8')).toBe(good)
    expect(readFileSync(`${file}.bak`, 'utf8')).toBe(original())
    expect(gateway.gateway.config.routes.map((r) => r.name)).toEqual(['openai', 'second'])
    expect(await page.locator('#routes tbody').innerText()).toContain('/second')
    // The reloaded config still records into the dashboard.
    const response = await fetch(`${gateway.url}/second/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }) })
    expect(response.status).toBe(200)
    await page.locator('[data-tab="dashboard"]').click()
    await page.locator('#log tbody tr', { hasText: 'second' }).waitFor({ timeout: 2000 })
    await page.close()
  })
})
