import { countChatTokens, countTokens, type ForwardResult } from '../../src/index.ts'

/** The JSON fields of a generation request this plugin reads (OpenAI, Responses, Anthropic, Gemini). */
export interface GenerationBody {
  model?: unknown
  messages?: unknown
  tools?: unknown
  prompt?: unknown
  input?: unknown
  instructions?: unknown
  system?: unknown
  contents?: unknown
  n?: unknown
  max_tokens?: unknown
  max_completion_tokens?: unknown
  max_output_tokens?: unknown
  stream?: unknown
  stream_options?: unknown
  /** Gemini: `{ maxOutputTokens, candidateCount }`. */
  generationConfig?: unknown
}

type Messages = Parameters<typeof countChatTokens>[0]

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isMessageList(value: unknown[]): boolean {
  return value.some((item) => isRecord(item) && ('role' in item || 'content' in item))
}

/** Tokens of a `prompt` / `input` value: a string, a list of strings, token ids, or message items. */
function inputTokens(input: unknown, model: string | undefined): number {
  if (typeof input === 'string') return countTokens(input, model)
  if (Array.isArray(input)) {
    if (input.every((item) => typeof item === 'number')) return input.length
    if (isMessageList(input)) return countChatTokens(input as Messages, model)
    let total = 0
    for (const item of input) total += inputTokens(item, model)
    return total
  }
  return input == null ? 0 : countTokens(JSON.stringify(input), model)
}

/** Gemini's `contents`: `[{ role, parts: [{ text }] }]`. */
function geminiTokens(contents: unknown[], model: string | undefined): number {
  let total = 0
  for (const content of contents) {
    const parts = isRecord(content) && Array.isArray(content.parts) ? content.parts : []
    for (const part of parts) if (isRecord(part) && typeof part.text === 'string') total += countTokens(part.text, model)
  }
  return total
}

/**
 * The prompt's tokens, counted with tiktoken in the model's encoding (o200k_base for unknown
 * models), or `undefined` when the body is not a generation or embedding request (nothing to budget).
 */
export function promptTokens(body: GenerationBody): number | undefined {
  const model = typeof body.model === 'string' ? body.model : undefined
  let total: number
  if (Array.isArray(body.messages)) total = countChatTokens(body.messages as Messages, model, body.tools)
  else if (body.prompt !== undefined) total = inputTokens(body.prompt, model)
  else if (body.input !== undefined) total = inputTokens(body.input, model) + (body.tools ? countTokens(JSON.stringify(body.tools), model) : 0)
  else if (Array.isArray(body.contents)) total = geminiTokens(body.contents, model)
  else return undefined
  if (typeof body.instructions === 'string') total += countTokens(body.instructions, model)
  if (body.system !== undefined) total += inputTokens(body.system, model)
  return total
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined
}

/** Tokens to hold for the answer: the request's own cap, else `fallback`, per choice (`n`). Embeddings answer none. */
export function completionReserve(body: GenerationBody, path: string, fallback: number): number {
  if (path.includes('/embeddings')) return 0
  const gemini = isRecord(body.generationConfig) ? body.generationConfig : undefined
  const cap = positiveInteger(body.max_completion_tokens) ?? positiveInteger(body.max_tokens) ?? positiveInteger(body.max_output_tokens) ?? positiveInteger(gemini?.maxOutputTokens) ?? fallback
  return cap * (positiveInteger(body.n) ?? positiveInteger(gemini?.candidateCount) ?? 1)
}

/** What a request is finally charged, once its response ended. */
export function settledTokens(result: ForwardResult, reserved: number, prompt: number): number {
  // Nothing went upstream: refused by a later plugin, or answered from a cache.
  if (result.attempts === 0) return 0
  if (result.status >= 200 && result.status < 300) {
    // The upstream's report, else tokens counted from what was received (aborted streams included).
    const usage = result.usage()
    if (usage) return usage.totalTokens
    // A whole answer the gateway could not read (e.g. larger than it keeps): keep the reservation.
    return result.outcome === 'complete' ? reserved : prompt
  }
  // The upstream failed or refused: no answer was produced, the prompt was sent.
  return prompt
}
