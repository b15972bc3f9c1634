import type { RouteDialect } from '../config/types.ts'
import type { SSEEvent } from '../plugin/types.ts'
import { DeltaTemplate } from './delta-template.ts'

/** A tool call as the assistant made it, arguments complete. */
export interface ToolCall {
  id: string
  type: string
  function: { name: string; arguments: string }
}

/** One choice of the answer, whole, whether it came as JSON or as a stream. */
export interface AssembledChoice {
  index: number
  role: string
  content: string
  /** `reasoning_content` / `reasoning` text, when the model streams its reasoning. */
  reasoning: string
  toolCalls: ToolCall[]
  finishReason: string | null
}

/** Token usage, normalised across APIs. */
export interface Usage {
  promptTokens: number
  completionTokens: number
  totalTokens: number
  /** True when counted by the gateway with tiktoken because the upstream reported none. */
  estimated: boolean
  /** Prompt tokens read from the provider's prompt cache (part of `promptTokens`), when reported. */
  cachedTokens?: number
  /** Prompt tokens written to the provider's prompt cache (Anthropic; part of `promptTokens`), when reported. */
  cacheWriteTokens?: number
}

/** The answer, assembled from a JSON body or from every event of a stream. */
export interface AssembledAnswer {
  id: string | undefined
  model: string | undefined
  choices: AssembledChoice[]
  /** The upstream's own usage report, if it sent one. */
  usage: Usage | undefined
}

function choiceAt(choices: AssembledChoice[], index: number): AssembledChoice {
  let choice = choices.find((c) => c.index === index)
  if (!choice) {
    choice = { index, role: 'assistant', content: '', reasoning: '', toolCalls: [], finishReason: null }
    choices.push(choice)
  }
  return choice
}

/**
 * A token count as the upstream reported it, made a whole number of at least 0: a string, a negative
 * or a NaN would otherwise reach token budgets (a negative one refunds them), metrics and the dashboard.
 */
function tokenCount(value: unknown, fallback = 0): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : fallback
}

function openaiUsage(usage: any): Usage | undefined {
  if (!usage || typeof usage !== 'object') return undefined
  const prompt = tokenCount(usage.prompt_tokens ?? usage.input_tokens)
  const completion = tokenCount(usage.completion_tokens ?? usage.output_tokens)
  const result: Usage = { promptTokens: prompt, completionTokens: completion, totalTokens: tokenCount(usage.total_tokens, prompt + completion), estimated: false }
  // Chat Completions: prompt_tokens_details; Responses: input_tokens_details. Both count within the prompt.
  const cached = tokenCount((usage.prompt_tokens_details ?? usage.input_tokens_details)?.cached_tokens)
  if (cached > 0) result.cachedTokens = cached
  return result
}

function mergeToolCallDelta(choice: AssembledChoice, delta: any): void {
  const index = typeof delta.index === 'number' ? delta.index : choice.toolCalls.length
  let call = choice.toolCalls[index]
  if (!call) {
    call = { id: '', type: 'function', function: { name: '', arguments: '' } }
    choice.toolCalls[index] = call
  }
  if (delta.id) call.id = delta.id
  if (delta.type) call.type = delta.type
  if (delta.function?.name) call.function.name += delta.function.name
  if (delta.function?.arguments) call.function.arguments += delta.function.arguments
}

/** Chat completions and legacy completions, from a JSON body. */
function fromOpenAIJson(body: any): AssembledAnswer {
  const choices: AssembledChoice[] = []
  for (const c of Array.isArray(body?.choices) ? body.choices : []) {
    const message = c.message ?? {}
    choices.push({
      index: c.index ?? choices.length,
      role: message.role ?? 'assistant',
      content: typeof message.content === 'string' ? message.content : typeof c.text === 'string' ? c.text : '',
      reasoning: message.reasoning_content ?? message.reasoning ?? '',
      toolCalls: Array.isArray(message.tool_calls) ? message.tool_calls : [],
      finishReason: c.finish_reason ?? null,
    })
  }
  if (body?.object === 'response') return fromResponsesObject(body)
  return { id: body?.id, model: body?.model, choices, usage: openaiUsage(body?.usage) }
}

/** The Responses API's final `response` object. */
function fromResponsesObject(response: any): AssembledAnswer {
  const choice: AssembledChoice = { index: 0, role: 'assistant', content: '', reasoning: '', toolCalls: [], finishReason: response?.status ?? null }
  for (const item of Array.isArray(response?.output) ? response.output : []) {
    if (item.type === 'message') {
      for (const part of item.content ?? []) if (part.type === 'output_text') choice.content += part.text ?? ''
    } else if (item.type === 'function_call') {
      choice.toolCalls.push({ id: item.call_id ?? item.id ?? '', type: 'function', function: { name: item.name ?? '', arguments: item.arguments ?? '' } })
    } else if (item.type === 'reasoning') {
      for (const part of item.summary ?? []) choice.reasoning += part.text ?? ''
    }
  }
  return { id: response?.id, model: response?.model, choices: [choice], usage: openaiUsage(response?.usage) }
}

/** Chat completions, legacy completions and Responses API streams. */
function fromOpenAIStream(events: readonly SSEEvent[]): AssembledAnswer {
  const answer: AssembledAnswer = { id: undefined, model: undefined, choices: [], usage: undefined }
  let template: DeltaTemplate | undefined
  for (const event of events) {
    if (template) {
      const content = template.content(event.raw)
      if (content !== undefined) {
        choiceAt(answer.choices, template.index).content += content
        continue
      }
    }
    const data = event.json()
    if (!data) continue
    template ??= DeltaTemplate.from(event, data)
    if (typeof data.type === 'string' && data.type.startsWith('response.')) {
      if (data.response && (data.type === 'response.completed' || data.type === 'response.incomplete' || data.type === 'response.failed')) {
        return fromResponsesObject(data.response)
      }
      const choice = choiceAt(answer.choices, 0)
      if (data.type === 'response.output_text.delta') choice.content += data.delta ?? ''
      continue
    }
    answer.id ??= data.id
    answer.model ??= data.model
    if (data.usage) answer.usage = openaiUsage(data.usage)
    for (const c of Array.isArray(data.choices) ? data.choices : []) {
      const choice = choiceAt(answer.choices, c.index ?? 0)
      const delta = c.delta ?? {}
      if (delta.role) choice.role = delta.role
      if (typeof delta.content === 'string') choice.content += delta.content
      if (typeof c.text === 'string') choice.content += c.text
      const reasoning = delta.reasoning_content ?? delta.reasoning
      if (typeof reasoning === 'string') choice.reasoning += reasoning
      if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls) mergeToolCallDelta(choice, call)
      if (c.finish_reason) choice.finishReason = c.finish_reason
    }
  }
  answer.choices.sort((a, b) => a.index - b.index)
  return answer
}

/** Anthropic Messages API, JSON or stream. */
function fromAnthropic(body: any, events: readonly SSEEvent[] | undefined): AssembledAnswer {
  const choice: AssembledChoice = { index: 0, role: 'assistant', content: '', reasoning: '', toolCalls: [], finishReason: null }
  let input = 0
  let output = 0
  let cacheRead = 0
  let cacheWrite = 0
  let id: string | undefined
  let model: string | undefined
  const blocks = events ? [] : (body?.content ?? [])
  for (const block of blocks) {
    if (block.type === 'text') choice.content += block.text ?? ''
    if (block.type === 'thinking') choice.reasoning += block.thinking ?? ''
    if (block.type === 'tool_use') choice.toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } })
  }
  if (body) {
    id = body.id
    model = body.model
    choice.finishReason = body.stop_reason ?? null
    input = tokenCount(body.usage?.input_tokens)
    output = tokenCount(body.usage?.output_tokens)
    cacheRead = tokenCount(body.usage?.cache_read_input_tokens)
    cacheWrite = tokenCount(body.usage?.cache_creation_input_tokens)
  }
  for (const event of events ?? []) {
    const data = event.json()
    if (!data) continue
    if (data.type === 'message_start') {
      id = data.message?.id
      model = data.message?.model
      input = tokenCount(data.message?.usage?.input_tokens, input)
      output = tokenCount(data.message?.usage?.output_tokens, output)
      cacheRead = tokenCount(data.message?.usage?.cache_read_input_tokens, cacheRead)
      cacheWrite = tokenCount(data.message?.usage?.cache_creation_input_tokens, cacheWrite)
    } else if (data.type === 'content_block_start' && data.content_block?.type === 'tool_use') {
      choice.toolCalls[data.index] = { id: data.content_block.id, type: 'function', function: { name: data.content_block.name, arguments: '' } }
    } else if (data.type === 'content_block_delta') {
      const delta = data.delta ?? {}
      if (delta.type === 'text_delta') choice.content += delta.text ?? ''
      if (delta.type === 'thinking_delta') choice.reasoning += delta.thinking ?? ''
      if (delta.type === 'input_json_delta' && choice.toolCalls[data.index]) choice.toolCalls[data.index].function.arguments += delta.partial_json ?? ''
    } else if (data.type === 'message_delta') {
      choice.finishReason = data.delta?.stop_reason ?? choice.finishReason
      output = tokenCount(data.usage?.output_tokens, output)
      input = tokenCount(data.usage?.input_tokens, input)
    }
  }
  choice.toolCalls = choice.toolCalls.filter(Boolean)
  // Anthropic's input_tokens leaves out the tokens read from or written to its prompt cache; the
  // prompt here counts them all (as OpenAI's does), and says how many were cached.
  const prompt = input + cacheRead + cacheWrite
  let usage: Usage | undefined
  if (prompt || output) {
    usage = { promptTokens: prompt, completionTokens: output, totalTokens: prompt + output, estimated: false }
    if (cacheRead > 0) usage.cachedTokens = cacheRead
    if (cacheWrite > 0) usage.cacheWriteTokens = cacheWrite
  }
  return { id, model, choices: [choice], usage }
}

/** Gemini generateContent, JSON or stream (each event is a partial response). */
function fromGemini(bodies: readonly any[]): AssembledAnswer {
  const choices: AssembledChoice[] = []
  let usage: Usage | undefined
  let model: string | undefined
  for (const body of bodies) {
    model ??= body?.modelVersion
    for (const [i, candidate] of (body?.candidates ?? []).entries()) {
      const choice = choiceAt(choices, candidate.index ?? i)
      for (const part of candidate.content?.parts ?? []) {
        if (typeof part.text === 'string') (part.thought ? (choice.reasoning += part.text) : (choice.content += part.text))
        if (part.functionCall) choice.toolCalls.push({ id: '', type: 'function', function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) } })
      }
      if (candidate.finishReason) choice.finishReason = candidate.finishReason
    }
    const meta = body?.usageMetadata
    if (meta) {
      const prompt = tokenCount(meta.promptTokenCount)
      // Thinking tokens are billed as output but not counted in candidatesTokenCount.
      const completion = tokenCount(meta.candidatesTokenCount) + tokenCount(meta.thoughtsTokenCount)
      usage = { promptTokens: prompt, completionTokens: completion, totalTokens: tokenCount(meta.totalTokenCount, prompt + completion), estimated: false }
      const cached = tokenCount(meta.cachedContentTokenCount)
      if (cached > 0) usage.cachedTokens = cached
    }
  }
  return { id: undefined, model, choices, usage }
}

/**
 * Whether an SSE event's raw text may carry a usage object (`"usage":{…}`, compact or spaced), as
 * opposed to the `"usage":null` OpenAI puts in every other chunk of a stream with `include_usage`.
 * A cheap test to run on every event before parsing one; the patterns start with a letter because a
 * search that starts with `"` stops at every quote of the JSON and costs several times more.
 */
export function mayCarryUsage(raw: string): boolean {
  // One scan for the key, then a look at what follows each occurrence.
  for (let at = raw.indexOf('usage":'); at !== -1; at = raw.indexOf('usage":', at + 7)) {
    let i = at + 7
    while (raw.charCodeAt(i) === 32) i++
    if (raw.charCodeAt(i) === 123) return true
  }
  return false
}

/**
 * The usage an OpenAI stream reported, read from its last events only: a chat or completions stream
 * with `include_usage` ends with it, a Responses stream carries it in `response.completed`. Saves
 * parsing every event when usage is all that is wanted. `undefined` when no such event is there.
 */
export function openaiStreamUsage(events: readonly SSEEvent[]): Usage | undefined {
  for (let i = events.length - 1; i >= 0 && i >= events.length - 4; i--) {
    if (!mayCarryUsage(events[i].raw)) continue
    const data = events[i].json()
    const usage = openaiUsage(data?.usage ?? data?.response?.usage)
    if (usage) return usage
  }
  return undefined
}

/**
 * Assembles the answer of a response body: `json` for a JSON body, `events` for a stream.
 * Returns `undefined` when the route's type has no known answer shape.
 */
export function assembleAnswer(dialect: 'openai' | RouteDialect, json: unknown, events: readonly SSEEvent[] | undefined): AssembledAnswer | undefined {
  switch (dialect) {
    case 'openai':
      return events ? fromOpenAIStream(events) : json ? fromOpenAIJson(json) : undefined
    case 'anthropic':
      return fromAnthropic(events ? undefined : json, events)
    case 'gemini':
      return fromGemini(events ? events.map((e) => e.json()).filter(Boolean) : Array.isArray(json) ? json : [json])
  }
}
