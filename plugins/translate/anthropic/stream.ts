import { sseErrorEvent } from '../../../src/index.ts'
import { ChunkWriter, completionId, DONE } from '../chunks.ts'
import { ANTHROPIC_ERROR_TYPES } from '../errors.ts'
import type { StreamMapper } from '../stream-mapper.ts'
import { finishReason, openaiUsage } from './response.ts'

const PING = '{"type":"ping"}'
const BLOCK_STOP = '{"type":"content_block_stop",'
const TEXT_HEAD = '{"type":"content_block_delta","index":'
const TEXT_MIDDLE = ',"delta":{"type":"text_delta","text":"'
const TEXT_TAIL = '"}}'
/** A quote or a control character: the part is not one string literal's body. */
const UNSAFE = /["\u0000-\u001f]/

/**
 * The text of a `text_delta` event (most of a stream) as the body of its JSON string literal, read
 * without parsing: `{"type":"content_block_delta","index":N,"delta":{"type":"text_delta","text":"…"}}`
 * exactly, the text holding no quote (escaped or not) or control character and not ending in a
 * backslash. Such a part can only be the string's own body, valid JSON as it came; anything else
 * returns `undefined` and is parsed in full.
 */
export function textDelta(data: string): string | undefined {
  if (!data.startsWith(TEXT_HEAD) || !data.endsWith(TEXT_TAIL)) return undefined
  const middle = data.indexOf(TEXT_MIDDLE, TEXT_HEAD.length)
  if (middle === -1 || middle === TEXT_HEAD.length || middle > TEXT_HEAD.length + 6) return undefined
  for (let i = TEXT_HEAD.length; i < middle; i++) {
    const c = data.charCodeAt(i)
    if (c < 48 || c > 57) return undefined
  }
  const text = data.slice(middle + TEXT_MIDDLE.length, data.length - TEXT_TAIL.length)
  return UNSAFE.test(text) || text.endsWith('\\') ? undefined : text
}

/**
 * Anthropic Messages events → OpenAI chunks, as they come: `message_start` gives the role chunk,
 * text/thinking/input_json deltas give content/reasoning_content/tool call argument chunks,
 * `message_delta` the finish reason, `message_stop` the usage chunk (when asked for) and `[DONE]`. `ping`,
 * `content_block_stop` and signatures have no OpenAI counterpart and are dropped; an `error` event
 * ends the stream with the gateway's SSE error event.
 */
export class AnthropicStream implements StreamMapper {
  #writer: ChunkWriter | undefined
  /** Content block index → tool call index, for tool_use blocks. */
  readonly #tools = new Map<number, number>()
  /** The block that carries a JSON answer (`response_format`), if any. */
  #jsonBlock = -1
  #usage: Record<string, number> = {}
  #ended = false

  constructor(private readonly jsonTool: string | undefined, private readonly includeUsage = true) {}

  #out(): ChunkWriter {
    return (this.#writer ??= new ChunkWriter(completionId(undefined), 'unknown'))
  }

  event(_name: string | undefined, data: string): string {
    if (this.#ended) return ''
    const text = textDelta(data)
    if (text !== undefined) return this.#out().contentLiteral(text)
    // Events with no OpenAI counterpart, told from their text without a parse.
    if (data === PING || data.startsWith(BLOCK_STOP)) return ''
    let event: any
    try {
      event = JSON.parse(data)
    } catch {
      return ''
    }
    switch (event?.type) {
      case 'content_block_delta': {
        const delta = event.delta
        if (delta?.type === 'text_delta') return this.#out().content(delta.text ?? '')
        if (delta?.type === 'thinking_delta') return this.#out().delta({ reasoning_content: delta.thinking ?? '' })
        if (delta?.type === 'input_json_delta') {
          if (event.index === this.#jsonBlock) return this.#out().content(delta.partial_json ?? '')
          const index = this.#tools.get(event.index)
          return index === undefined ? '' : this.#out().delta({ tool_calls: [{ index, function: { arguments: delta.partial_json ?? '' } }] })
        }
        return ''
      }
      case 'message_start': {
        const message = event.message ?? {}
        this.#writer = new ChunkWriter(completionId(message.id), String(message.model ?? 'unknown'))
        this.#addUsage(message.usage)
        return this.#writer.delta({ role: 'assistant', content: '' })
      }
      case 'content_block_start': {
        const block = event.content_block
        if (block?.type !== 'tool_use') return ''
        if (this.jsonTool && block.name === this.jsonTool) {
          this.#jsonBlock = event.index
          return ''
        }
        const index = this.#tools.size
        this.#tools.set(event.index, index)
        return this.#out().delta({ tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] })
      }
      case 'message_delta': {
        this.#addUsage(event.usage)
        const reason = finishReason(event.delta?.stop_reason, this.jsonTool)
        return reason === null ? '' : this.#out().delta({}, reason)
      }
      case 'message_stop':
        this.#ended = true
        return (this.includeUsage ? this.#out().usage(openaiUsage(this.#usage)) : '') + DONE
      case 'error': {
        this.#ended = true
        const kind = typeof event.error?.type === 'string' ? event.error.type : 'api_error'
        return sseErrorEvent(String(event.error?.message ?? 'Anthropic reported an error'), kind, ANTHROPIC_ERROR_TYPES[kind] ?? 'api_error')
      }
      default:
        return ''
    }
  }

  end(): string {
    if (this.#ended) return ''
    this.#ended = true
    return sseErrorEvent("Anthropic's stream ended before its message_stop event", 'upstream_incomplete')
  }

  /** `message_start` carries the input side, `message_delta` the running totals: later values win. */
  #addUsage(usage: any): void {
    if (!usage || typeof usage !== 'object') return
    for (const [name, value] of Object.entries(usage)) if (typeof value === 'number') this.#usage[name] = value
  }
}
