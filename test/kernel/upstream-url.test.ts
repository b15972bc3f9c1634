// The upstream URL of an attempt: split without a parse per request, yet exactly what parsing
// `target + path` gives (what undici's request(url) did), for every target and path shape.
import { describe, expect, it } from 'vitest'
import { upstreamURL } from '../../src/gateway/upstream.ts'

function byParsing(target: string, path: string): { origin: string; path: string } {
  const url = new URL(target + path)
  return { origin: url.origin, path: url.pathname + url.search }
}

const targets = [
  'http://127.0.0.1:8080',
  'http://127.0.0.1:8080/',
  'https://api.example.com/v1',
  'https://api.example.com/v1/',
  'http://[::1]:9000/openai/deployments',
  'HTTP://Example.COM:80/A',
  'https://api.example.com/v1?key=1',
  'https://api.example.com/a/../b',
]

const paths = [
  '', '/', '/v1/chat/completions', '/v1/models?limit=2&after=x', '?only=query', '//double', '/a//b/',
  '/files/file-abc_123.jsonl', '/a/./b', '/a/../b', '/a/%2e%2E/b', '/.well-known/x', '/a/.hidden',
  '/a b', '/a%20b', '/%zz', '/a\\b', '/a#frag', '/a?q=a b', "/a?q='x'", '/ü', '/a?q=ü', '/a{b}', '/a|b^c`d',
  '/v1/models/gpt-4o:generateContent', '/a?x=1?y=2', '/a@b!$&()*+,;=~', '/a?x=<y>', '/a"b',
]

describe('upstreamURL', () => {
  for (const target of targets) {
    it(`matches parsing for every path under ${target}`, () => {
      for (const path of paths) {
        // Twice: the first call may split the target, the second uses what it kept.
        expect(upstreamURL(target, path), `${target} + ${path}`).toEqual(byParsing(target, path))
        expect(upstreamURL(target, path), `${target} + ${path} (again)`).toEqual(byParsing(target, path))
      }
    })
  }
})
