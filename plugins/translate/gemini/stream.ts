import { sseErrorEvent } from '../../../src/index.ts'
import { ChunkWriter, completionId, DONE } from '../chunks.ts'
import { providerError } from '../errors.ts'
import type { StreamMapper } from '../stream-mapper.ts'
import { callId, finishReason, openaiUsage } from './response.ts'

/**
 * Gemini `streamGenerateContent?alt=sse` events → OpenAI chunks, as they come. Each Gemini event is a
 * partial answer: text parts become content deltas (thought parts reasoning_content), a function call
 * (Gemini sends each whole) one tool call chunk, a finish reason the finish chunk. Gemini has no end
 * event: when its stream ends, the usage chunk (from the last `usageMetadata`) and `[DONE]` follow.
 */
export class GeminiStream implements StreamMapper {
  #writer: ChunkWriter | undefined
  /** Tool calls so far, per candidate. */
  readonly #calls = new Map<number, number>()
  #usage: unknown
  #responseId: unknown
  #ended = false

  constructor(private readonly model: string, private readonly includeUsage = true) {}

  event(_name: string | undefined, data: string): string {
    if (this.#ended) return ''
    let event: any
    try {
      event = JSON.parse(data)
    } catch {
      return ''
    }
    if (event?.error) {
      this.#ended = true
      const { error } = providerError('gemini', Number(event.error.code) || 500, data)
      return sseErrorEvent(error.message, error.code ?? 'upstream_error', error.type)
    }
    let out = ''
    if (!this.#writer) {
      this.#responseId = event.responseId
      this.#writer = new ChunkWriter(completionId(event.responseId), typeof event.modelVersion === 'string' ? event.modelVersion : this.model)
    }
    const writer = this.#writer
    if (event.usageMetadata) this.#usage = event.usageMetadata
    const candidates: any[] = Array.isArray(event.candidates) ? event.candidates : []
    candidates.forEach((candidate, i) => {
      const index = typeof candidate?.index === 'number' ? candidate.index : i
      if (!this.#calls.has(index)) {
        this.#calls.set(index, 0)
        out += writer.delta({ role: 'assistant', content: '' }, null, index)
      }
      for (const part of candidate?.content?.parts ?? []) {
        if (typeof part?.text === 'string' && part.text !== '') out += part.thought ? writer.delta({ reasoning_content: part.text }, null, index) : writer.content(part.text, index)
        if (part?.functionCall) {
          const position = this.#calls.get(index)!
          this.#calls.set(index, position + 1)
          const call = part.functionCall
          out += writer.delta({ tool_calls: [{ index: position, id: callId(call, this.#responseId, index, position), type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) } }] }, null, index)
        }
      }
      const reason = finishReason(candidate?.finishReason, this.#calls.get(index)! > 0)
      if (reason !== null) out += writer.delta({}, reason, index)
    })
    if (candidates.length === 0 && event.promptFeedback?.blockReason) out += writer.delta({ role: 'assistant', content: '' }, 'content_filter')
    return out
  }

  end(): string {
    if (this.#ended) return ''
    this.#ended = true
    const writer = this.#writer ?? new ChunkWriter(completionId(undefined), this.model)
    return (this.includeUsage ? writer.usage(openaiUsage(this.#usage)) : '') + DONE
  }
}
