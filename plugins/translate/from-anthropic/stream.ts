import type { StreamMapper } from '../stream-mapper.ts'
import { anthropicError } from '../errors.ts'
import { anthropicUsage, messageId, stopReason } from './response.ts'

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`
}

/**
 * OpenAI chat completion chunks → Anthropic's event sequence, as they come: `message_start` on the
 * first chunk, a content block per run of reasoning (thinking), text or one tool call
 * (`content_block_start`, its deltas, `content_block_stop`), and at `[DONE]` the `message_delta` with
 * the stop reason and usage, then `message_stop`. An error event becomes Anthropic's `error` event.
 * Only the first choice is read.
 */
export class OpenAIStream implements StreamMapper {
  #started = false
  #ended = false
  /** The open content block: its kind and index, or none. */
  #open: { kind: 'thinking' | 'text' | 'tool'; index: number; tool?: number } | undefined
  #blocks = 0
  #stop: string | null = null
  #usage: unknown

  event(_name: string | undefined, data: string): string {
    if (this.#ended) return ''
    if (data === '[DONE]') return this.#finish()
    let chunk: any
    try {
      chunk = JSON.parse(data)
    } catch {
      return ''
    }
    if (chunk?.error) {
      this.#ended = true
      return event('error', anthropicError(500, data))
    }
    let out = this.#start(chunk)
    if (chunk.usage) this.#usage = chunk.usage
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find((c: any) => (c?.index ?? 0) === 0) : undefined
    if (!choice) return out
    const delta = choice.delta ?? {}
    const reasoning = delta.reasoning_content ?? delta.reasoning
    if (typeof reasoning === 'string' && reasoning !== '') {
      out += this.#block('thinking', { type: 'thinking', thinking: '', signature: '' })
      out += event('content_block_delta', { type: 'content_block_delta', index: this.#open!.index, delta: { type: 'thinking_delta', thinking: reasoning } })
    }
    if (typeof delta.content === 'string' && delta.content !== '') {
      out += this.#block('text', { type: 'text', text: '' })
      out += event('content_block_delta', { type: 'content_block_delta', index: this.#open!.index, delta: { type: 'text_delta', text: delta.content } })
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      const tool = typeof call.index === 'number' ? call.index : 0
      if (this.#open?.kind !== 'tool' || this.#open.tool !== tool) out += this.#block('tool', { type: 'tool_use', id: call.id ?? `toolu_${tool}`, name: call.function?.name ?? '', input: {} }, tool)
      const args = call.function?.arguments
      if (typeof args === 'string' && args !== '') out += event('content_block_delta', { type: 'content_block_delta', index: this.#open!.index, delta: { type: 'input_json_delta', partial_json: args } })
    }
    if (choice.finish_reason) {
      this.#stop = stopReason(choice.finish_reason)
      out += this.#close()
    }
    return out
  }

  end(): string {
    if (this.#ended) return ''
    // A server that ends without [DONE] but with a finish reason ended properly all the same.
    if (this.#stop !== null) return this.#finish()
    this.#ended = true
    return event('error', { type: 'error', error: { type: 'api_error', message: 'The upstream stream ended before its last chunk' } })
  }

  /** The target's stream broke: Anthropic's error event, which the Anthropic SDK throws. */
  fail(error: Error): string {
    if (this.#ended) return ''
    this.#ended = true
    return event('error', { type: 'error', error: { type: 'api_error', message: `The upstream's stream broke: ${error.message}` } })
  }

  #start(chunk: any): string {
    if (this.#started) return ''
    this.#started = true
    const message = { id: messageId(chunk?.id), type: 'message', role: 'assistant', model: chunk?.model ?? '', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } }
    return event('message_start', { type: 'message_start', message })
  }

  /** Opens a block of `kind` unless it is the open one (closing the open one first). */
  #block(kind: 'thinking' | 'text' | 'tool', start: Record<string, unknown>, tool?: number): string {
    if (this.#open?.kind === kind && kind !== 'tool') return ''
    const out = this.#close()
    this.#open = { kind, index: this.#blocks++, tool }
    return out + event('content_block_start', { type: 'content_block_start', index: this.#open.index, content_block: start })
  }

  #close(): string {
    if (!this.#open) return ''
    const { index } = this.#open
    this.#open = undefined
    return event('content_block_stop', { type: 'content_block_stop', index })
  }

  #finish(): string {
    this.#ended = true
    const out = this.#start({}) + this.#close()
    const usage = anthropicUsage(this.#usage)
    return out
      + event('message_delta', { type: 'message_delta', delta: { stop_reason: this.#stop ?? 'end_turn', stop_sequence: null }, usage })
      + event('message_stop', { type: 'message_stop' })
  }
}
