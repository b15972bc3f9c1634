// Path normalisation before routing, with raw request paths (fetch would normalise them client-side).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startMockUpstream, type MockUpstream } from '../../playground/mock/server.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { KEY, expectOpenAIError, raw } from './util.ts'

let root: MockUpstream
let gemini: MockUpstream
let gw: TestGateway

beforeAll(async () => {
  root = await startMockUpstream({ port: 0 })
  gemini = await startMockUpstream({ port: 0 })
  gw = await startTestGateway({
    routes: {
      openai: { path: '/', target: root.url },
      gemini: { path: '/gemini', target: gemini.url, type: 'general' },
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await root?.close()
  await gemini?.close()
})
beforeEach(() => {
  root.reset()
  gemini.reset()
})

const get = (path: string) => raw(gw.url, 'GET', path, { headers: { authorization: `Bearer ${KEY}` } })

/** Which mock got the request, and with what path. */
function landed(): { where: 'root' | 'gemini' | 'none'; path?: string } {
  if (root.requests.length + gemini.requests.length > 1) throw new Error('more than one upstream request')
  if (root.requests[0]) return { where: 'root', path: root.requests[0].path }
  if (gemini.requests[0]) return { where: 'gemini', path: gemini.requests[0].path }
  return { where: 'none' }
}

describe('path normalisation', () => {
  it('routes /gemini/../v1/models by its normalised path', async () => {
    const res = await get('/gemini/../v1/models')
    expect(res.status).toBe(200)
    expect(res.json().object).toBe('list')
    expect(landed()).toEqual({ where: 'root', path: '/v1/models' })
  })

  it('refuses a path that climbs above the root with 400', async () => {
    for (const path of ['/a/../../etc/passwd', '/..', '/gemini/../../x', '/%2e%2e/etc', '/v1/..%2f..%2fetc']) {
      root.reset()
      gemini.reset()
      const res = await get(path)
      expect(res.status, path).toBe(400)
      expect(expectOpenAIError(res.json()).code).toBe('invalid_path')
      expect(landed(), path).toEqual({ where: 'none' })
    }
  })

  it('collapses repeated slashes', async () => {
    const res = await get('//v1//models')
    expect(res.status).toBe(200)
    expect(landed()).toEqual({ where: 'root', path: '/v1/models' })
    root.reset()
    await get('//gemini///echo//a')
    expect(landed()).toEqual({ where: 'gemini', path: '/echo/a' })
  })

  it('resolves percent-encoded dot segments, in either case', async () => {
    await get('/gemini/%2e%2e/v1/echo/a')
    expect(landed()).toEqual({ where: 'root', path: '/v1/echo/a' })
    root.reset()
    await get('/v1/%2E%2E/gemini/echo/b')
    expect(landed()).toEqual({ where: 'gemini', path: '/echo/b' })
    gemini.reset()
    await get('/gemini/.%2E/gemini/%2e/echo/c')
    expect(landed()).toEqual({ where: 'gemini', path: '/echo/c' })
  })

  it('keeps the query string and other encoded characters as sent', async () => {
    await get('/gemini/./echo/a%20b?x=../y&z=%2e%2e')
    expect(landed()).toEqual({ where: 'gemini', path: '/echo/a%20b?x=../y&z=%2e%2e' })
  })

  it('never lets a request reach a route other than the one its normalised path names', async () => {
    // Each of these spells a path under /gemini once normalised, whatever it looks like raw.
    const toGemini = ['/v1/../gemini/echo/1', '/./gemini/echo/1', '/x/y/../../gemini/echo/1', '/v1/%2e%2e/gemini/echo/1', '/gemini//echo/1']
    for (const path of toGemini) {
      root.reset()
      gemini.reset()
      await get(path)
      expect(landed(), path).toEqual({ where: 'gemini', path: '/echo/1' })
    }
    // And these leave /gemini for the root route, with the prefix never stripped from another path.
    const toRoot = ['/gemini/../v1/echo/1', '/gemini/%2e%2e/v1/echo/1', '/gemini/./../v1/echo/1', '/geminix/../v1/echo/1']
    for (const path of toRoot) {
      root.reset()
      gemini.reset()
      await get(path)
      expect(landed(), path).toEqual({ where: 'root', path: '/v1/echo/1' })
    }
  })

  it('refuses an encoded slash inside a segment instead of guessing what it means', async () => {
    // "%2f" could smuggle a separator past the router (/gemini%2f..%2fv1); the gateway refuses it.
    for (const path of ['/gemini%2fecho', '/gemini/..%2Fv1/echo/1', '/v1/echo%5c..%5c..']) {
      root.reset()
      gemini.reset()
      const res = await get(path)
      expect(res.status, path).toBe(400)
      expect(landed(), path).toEqual({ where: 'none' })
    }
  })
})
