import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Tiktoken } from 'tiktoken/lite'

type EncodingName = 'o200k_base' | 'cl100k_base'

const require = createRequire(import.meta.url)
const encoders = new Map<EncodingName, Tiktoken>()

/** Models older than gpt-4o use cl100k_base; everything newer (and unknown models) o200k_base. */
export function encodingForModel(model: string | undefined): EncodingName {
  if (!model) return 'o200k_base'
  if (/^(gpt-4(?!o|\.)|gpt-3\.5|text-embedding-(ada|3)|text-davinci|davinci|babbage)/.test(model)) return 'cl100k_base'
  return 'o200k_base'
}

/**
 * The encoder for an encoding, loaded on first use (about 0.25 s) and kept for the life of the
 * process. The ranks ship inside the tiktoken package: nothing is downloaded.
 */
function encoder(name: EncodingName): Tiktoken {
  let enc = encoders.get(name)
  if (!enc) {
    const { Tiktoken: Encoder } = require('tiktoken/lite') as typeof import('tiktoken/lite')
    // Read, not require()d: the encoder keeps its own copy of the ranks (in WASM memory), and a
    // required module stays referenced (by its parent's `children`) however the cache is cleared.
    const file = require.resolve(`tiktoken/encoders/${name}.json`)
    const ranks = JSON.parse(readFileSync(file, 'utf8')) as { bpe_ranks: string; special_tokens: Record<string, number>; pat_str: string }
    enc = new Encoder(ranks.bpe_ranks, ranks.special_tokens, ranks.pat_str)
    encoders.set(name, enc)
  }
  return enc
}

/**
 * Builds the encoder `model` uses now instead of on the first count: a plugin that counts every
 * request calls it from `setup`, so the first request does not wait the quarter second it takes.
 */
export function loadEncoding(model?: string): void {
  encoder(encodingForModel(model))
}

/**
 * Recent counts, per encoding by text. A chat re-sends its whole history every turn, so most of a
 * prompt's messages were counted a moment ago; the memo turns those into a map lookup. Keyed by the
 * text itself: a key built as `encoding + text` would copy every (long) message on every lookup.
 */
const memos: Record<EncodingName, Map<string, number>> = { o200k_base: new Map(), cl100k_base: new Map() }
/** Bounded by the characters it holds (about 8 MB), not by entries: messages can be long. */
const MEMO_CHARS = 4_000_000
let memoChars = 0

const SLICE = 1024

/**
 * Exact counting costs about 0.3 s of event-loop time per MB of text, during which no other request
 * moves: a 100 MB prompt (the default body limit) would stall the gateway for half a minute. Past
 * this many characters a text, or a prompt's messages together, are counted in part and the rest is
 * estimated at the same tokens per character: at most about 60 ms per count.
 */
const EXACT_CHARS = 200_000

/**
 * BPE merges cost quadratic time in the length of one pre-token, so a prompt that is one long run
 * without spaces (20 000 × "x" took 0.35 s) could stall the event loop. Long texts are counted in
 * slices of about 1 KB, cut at whitespace where there is some: counts stay within a token or two per
 * slice of exact, and no single encode is long.
 */
function encodeLength(encoding: EncodingName, text: string): number {
  const enc = encoder(encoding)
  if (text.length <= SLICE) return enc.encode(text, 'all').length
  if (text.length > EXACT_CHARS) return Math.ceil((encodeLength(encoding, text.slice(0, EXACT_CHARS)) * text.length) / EXACT_CHARS)
  let total = 0
  for (let start = 0; start < text.length; ) {
    let end = Math.min(start + SLICE, text.length)
    if (end < text.length) {
      const space = text.lastIndexOf(' ', end)
      if (space > start + SLICE / 2) end = space
    }
    total += enc.encode(text.slice(start, end), 'all').length
    start = end
  }
  return total
}

/** Counts the tokens of `text` with the encoding `model` uses. */
export function countTokens(text: string, model?: string): number {
  if (!text) return 0
  const encoding = encodingForModel(model)
  const memo = memos[encoding]
  // Short texts too: a call into tiktoken's WASM costs microseconds even for "hi", a lookup far less.
  let count = memo.get(text)
  if (count === undefined) {
    count = encodeLength(encoding, text)
    if (text.length > MEMO_CHARS) return count
    memoChars += text.length
    // Evict the least recently used (this encoding's first) until the new entry fits.
    for (const evicting of encoding === 'o200k_base' ? [memo, memos.cl100k_base] : [memo, memos.o200k_base]) {
      for (const oldest of evicting.keys()) {
        if (memoChars <= MEMO_CHARS) break
        evicting.delete(oldest)
        memoChars -= oldest.length
      }
    }
  } else {
    memo.delete(text)
  }
  memo.set(text, count)
  return count
}

interface ChatMessageLike {
  role?: string
  name?: string
  content?: unknown
  tool_calls?: unknown
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content.map((part) => (typeof part === 'object' && part && 'text' in part ? String((part as { text: unknown }).text) : '')).join('')
  }
  return content == null ? '' : JSON.stringify(content)
}

/** Counts a chat prompt's tokens the way OpenAI bills them: 3 per message, 1 per name, 3 to prime the reply. */
export function countChatTokens(messages: readonly ChatMessageLike[], model?: string, tools?: unknown): number {
  let total = 3
  // Past EXACT_CHARS in all, the rest is estimated at the ratio counted so far (see EXACT_CHARS).
  let chars = 0
  let tokens = 0
  const count = (text: string): number => {
    if (chars > EXACT_CHARS) return Math.ceil((text.length * tokens) / chars)
    const n = countTokens(text, model)
    chars += text.length
    tokens += n
    return n
  }
  for (const message of messages) {
    // The upstream judges malformed messages; counting just skips what is not a message.
    if (typeof message !== 'object' || message === null) continue
    total += 3
    total += count(typeof message.role === 'string' ? message.role : '')
    total += count(contentText(message.content))
    if (typeof message.name === 'string' && message.name) total += 1 + count(message.name)
    if (message.tool_calls) total += count(JSON.stringify(message.tool_calls))
  }
  if (tools) total += count(JSON.stringify(tools))
  return total
}
