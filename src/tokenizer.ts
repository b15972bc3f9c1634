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
    const ranks = require(`tiktoken/encoders/${name}.json`) as { bpe_ranks: string; special_tokens: Record<string, number>; pat_str: string }
    enc = new Encoder(ranks.bpe_ranks, ranks.special_tokens, ranks.pat_str)
    encoders.set(name, enc)
  }
  return enc
}

/** Counts the tokens of `text` with the encoding `model` uses. */
export function countTokens(text: string, model?: string): number {
  if (!text) return 0
  return encoder(encodingForModel(model)).encode(text, 'all').length
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
  for (const message of messages) {
    total += 3
    total += countTokens(message.role ?? '', model)
    total += countTokens(contentText(message.content), model)
    if (message.name) total += 1 + countTokens(message.name, model)
    if (message.tool_calls) total += countTokens(JSON.stringify(message.tool_calls), model)
  }
  if (tools) total += countTokens(JSON.stringify(tools), model)
  return total
}
