// The dashboard's Keys page in a real headless Chromium: create a forward key (the secret shown once),
// use it through the official SDK, see its use, rotate and revoke it; config keys show "from config".
import OpenAI from 'openai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { keys } from '../../plugins/index.ts'
import { TOKEN, startDashboard, type Dashboard } from './helpers.ts'

const FK_ALICE = 'fk-alice-from-config-secret-0123456789'

let mock: MockUpstream
let dash: Dashboard
let browser: Browser
let page: Page

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 })
  dash = await startDashboard({
    openai: {
      path: '/', target: mock.url, type: 'openai',
      plugins: [keys({ levels: { default: { keys: ['sk-real-page-1'] }, pro: { keys: ['sk-real-page-2'] } }, forwardKeys: { alice: { key: FK_ALICE, level: 'default' } }, runtimeKeys: true })],
    },
  })
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  })
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } })
  // Rotate and revoke ask for confirmation.
  page.on('dialog', (dialog) => void dialog.accept())
  await page.goto(`${dash.admin.url}/?token=${encodeURIComponent(TOKEN)}`)
  await page.locator('#live.ok').waitFor({ timeout: 5000 })
  await page.locator('#tabs [data-tab="keys"]').click()
})

afterAll(async () => {
  await browser?.close()
  await dash?.stop()
  await mock?.close()
})

const ask = (key: string) => new OpenAI({ baseURL: `${dash.gateway.url}/v1`, apiKey: key, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi from the keys page' }] })
const row = (name: string) => page.locator(`#key-list tbody tr[data-name="${name}"]`)

describe('keys page', () => {
  let secret: string

  it('lists the config’s keys as "from config", with no way to revoke them there', async () => {
    await row('alice').waitFor({ timeout: 3000 })
    const text = await row('alice').innerText()
    expect(text).toMatch(/alice\s+default\s+from config/)
    expect(await row('alice').locator('button').count()).toBe(0)
    expect(await page.locator('#key-level option').allTextContents()).toEqual(['default', 'pro'])
  })

  it('creates a key and shows its secret once', async () => {
    await page.fill('#key-name', 'web-bot')
    await page.selectOption('#key-level', 'pro')
    await page.fill('#key-budget', '$3/month')
    await page.click('#key-create')
    await page.locator('#key-secret').waitFor({ state: 'visible', timeout: 3000 })
    secret = (await page.locator('#key-secret-value').innerText()).trim()
    expect(secret).toMatch(/^fk-/)
    expect(await page.locator('#key-secret-name').innerText()).toBe('web-bot')
    expect(await row('web-bot').innerText()).toMatch(/web-bot\s+pro\s+runtime\s+.*\$3\/month/)
    // The list itself never holds a secret.
    expect(await page.locator('#key-list').innerHTML()).not.toContain(secret)
  })

  it('shows the key’s use after a request through the gateway', async () => {
    const answer = await ask(secret)
    await page.click('#key-secret-done')
    expect(await page.locator('#key-secret').isHidden()).toBe(true)
    // Use reaches the list when the plugin flushes (about once a second).
    await expect.poll(async () => {
      await page.locator('#tabs [data-tab="keys"]').click()
      return (await row('web-bot').innerText()).match(/\t1\t/) !== null
    }, { timeout: 5000, interval: 300 }).toBe(true)
    expect(await row('web-bot').innerText()).toContain(String(answer.usage!.total_tokens))
    expect(await page.content()).not.toContain(secret)
  })

  it('refuses a second key with the same name, with the API’s message', async () => {
    await page.fill('#key-name', 'web-bot')
    await page.click('#key-create')
    await expect.poll(() => page.locator('#key-status').innerText(), { timeout: 3000 }).toContain('a key named "web-bot" already exists')
    expect(await page.locator('#key-secret').isHidden()).toBe(true)
  })

  it('rotates a key (the old secret stops working) and revokes it', async () => {
    await row('web-bot').locator('[data-action="rotate"]').click()
    await page.locator('#key-secret').waitFor({ state: 'visible', timeout: 3000 })
    const rotated = (await page.locator('#key-secret-value').innerText()).trim()
    expect(rotated).toMatch(/^fk-/)
    expect(rotated).not.toBe(secret)
    await page.click('#key-secret-done')
    await expect.poll(() => ask(secret).then(() => 200, (e) => e.status), { timeout: 3000, interval: 100 }).toBe(401)
    await expect(ask(rotated)).resolves.toBeTruthy()
    await row('web-bot').locator('[data-action="revoke"]').click()
    await row('web-bot').waitFor({ state: 'detached', timeout: 3000 })
    await expect.poll(() => ask(rotated).then(() => 200, (e) => e.status), { timeout: 3000, interval: 100 }).toBe(401)
    expect(await page.content()).not.toContain(rotated)
  })
})
