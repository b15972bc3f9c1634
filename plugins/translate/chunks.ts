/** Token usage in OpenAI's shape. */
export interface OpenAIUsage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
  prompt_tokens_details?: { cached_tokens: number }
  completion_tokens_details?: { reasoning_tokens: number }
}

/** A chat completion stream's id, as OpenAI's look. */
export function completionId(providerId: unknown): string {
  return `chatcmpl-${typeof providerId === 'string' && providerId ? providerId : Math.random().toString(36).slice(2)}`
}

/**
 * Writes `chat.completion.chunk` events for one stream. Each event is a prefix made once per stream,
 * the delta, and a fixed tail, so a content chunk costs one `JSON.stringify` of its text; its form is
 * OpenAI's own, which the gateway's answer assembly reads without a full parse.
 */
export class ChunkWriter {
  readonly #head: string
  /** The text before each choice's delta, by choice index. */
  readonly #choices: string[] = []

  constructor(id: string, model: string, created = Math.floor(Date.now() / 1000)) {
    this.#head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":[`
  }

  #choice(index: number): string {
    return (this.#choices[index] ??= `${this.#head}{"index":${index},"delta":`)
  }

  /** A text delta. */
  content(text: string, index = 0): string {
    return `${this.#choice(index)}{"content":${JSON.stringify(text)}},"finish_reason":null}]}\n\n`
  }

  /** A text delta given as the body of a JSON string literal (already escaped, no quotes), copied as is. */
  contentLiteral(literal: string, index = 0): string {
    return `${this.#choice(index)}{"content":"${literal}"},"finish_reason":null}]}\n\n`
  }

  /** Any delta, with a finish reason when the choice ends here. */
  delta(delta: Record<string, unknown>, finishReason: string | null = null, index = 0): string {
    return `${this.#choice(index)}${JSON.stringify(delta)},"finish_reason":${finishReason === null ? 'null' : JSON.stringify(finishReason)}}]}\n\n`
  }

  /** The usage chunk of `stream_options.include_usage`: no choices. */
  usage(usage: OpenAIUsage): string {
    return `${this.#head}],"usage":${JSON.stringify(usage)}}\n\n`
  }
}

export const DONE = 'data: [DONE]\n\n'
