import { sseErrorEvent } from '../../../src/index.ts'
import { ChunkWriter, completionId, DONE } from '../chunks.ts'
import { ANTHROPIC_ERROR_TYPES } from '../errors.ts'
import type { StreamMapper } from '../stream-mapper.ts'
import { finishReason, openaiUsage } from './response.ts'

/**
 * Anthropic Messages events → OpenAI chunks, as they come: `message_start` gives the role chunk,
 * text/thinking/input_json deltas give content/reasoning_content/tool call argument chunks,
 * `message_delta` the finish reason, `message_stop` the usage chunk and `[DONE]`. `ping`,
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

  constructor(private readonly jsonTool: string | undefined) {}

  #out(): ChunkWriter {
    return (this.#writer ??= new ChunkWriter(completionId(undefined), 'unknown'))
  }

  event(_name: string | undefined, data: string): string {
    if (this.#ended) return ''
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
        return this.#out().usage(openaiUsage(this.#usage)) + DONE
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
