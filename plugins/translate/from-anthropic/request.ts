import { TranslateError } from '../errors.ts'
import type { ResolvedTranslateOptions } from '../options.ts'

/** A 400 for an Anthropic request (the error is turned into Anthropic's shape on the way out). */
function refuse(field: string, problem: string): TranslateError {
  return new TranslateError(`${field}: ${problem}`, field, 'invalid_request_error')
}

/** Fields of a Messages request the mapping reads; the others are refused, never dropped. */
const MAPPED = new Set(['model', 'messages', 'max_tokens', 'system', 'stream', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'tools', 'tool_choice', 'thinking', 'metadata', 'service_tier'])

/** `thinking.budget_tokens` → OpenAI `reasoning_effort` (the nearest of its levels). */
export function reasoningEffort(budget: number): 'low' | 'medium' | 'high' {
  return budget < 4096 ? 'low' : budget < 16384 ? 'medium' : 'high'
}

function text(content: unknown, field: string): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) throw refuse(field, 'Input should be a valid string or list')
  return content.map((block, i) => {
    if (block?.type !== 'text') throw refuse(`${field}.${i}.type`, `a ${JSON.stringify(block?.type)} block cannot be translated here (text only)`)
    return String(block.text ?? '')
  }).join('')
}

function imagePart(block: any, field: string): Record<string, unknown> {
  const source = block.source ?? {}
  if (source.type === 'base64') return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } }
  if (source.type === 'url') return { type: 'image_url', image_url: { url: source.url } }
  throw refuse(`${field}.source.type`, `an image source of type ${JSON.stringify(source.type)} cannot be translated (base64 and url only)`)
}

/**
 * An Anthropic Messages request as an OpenAI chat completion request. `system` becomes the first
 * message; `tool_result` blocks become `tool` messages (before the rest of their turn, as OpenAI
 * wants them right after the assistant's calls); `tool_use` blocks become `tool_calls`; earlier
 * thinking blocks are left out (an OpenAI-compatible model cannot take them back).
 */
export function openaiRequest(body: any, options: ResolvedTranslateOptions): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw refuse('body', 'must be a JSON object')
  for (const name of Object.keys(body)) if (!MAPPED.has(name) && body[name] !== undefined) throw refuse(name, 'cannot be translated to an OpenAI-compatible API')
  if (typeof body.model !== 'string') throw refuse('model', 'Field required')
  if (!Array.isArray(body.messages)) throw refuse('messages', 'Field required')
  if (!Number.isInteger(body.max_tokens)) throw refuse('max_tokens', 'Field required')
  const messages: Record<string, unknown>[] = []
  if (body.system !== undefined) messages.push({ role: 'system', content: text(body.system, 'system') })
  body.messages.forEach((message: any, i: number) => {
    const field = `messages.${i}`
    const blocks = typeof message?.content === 'string' ? [{ type: 'text', text: message.content }] : message?.content
    if (!Array.isArray(blocks)) throw refuse(`${field}.content`, 'Input should be a valid string or list')
    if (message.role === 'user') {
      const parts: Record<string, unknown>[] = []
      blocks.forEach((block: any, j: number) => {
        const at = `${field}.content.${j}`
        if (block?.type === 'tool_result') {
          const content = typeof block.content === 'string' || block.content === undefined ? (block.content ?? '') : text(block.content, `${at}.content`)
          messages.push({ role: 'tool', tool_call_id: block.tool_use_id, content: block.is_error ? `Error: ${content}` : content })
        } else if (block?.type === 'text') parts.push({ type: 'text', text: String(block.text ?? '') })
        else if (block?.type === 'image') parts.push(imagePart(block, at))
        else throw refuse(`${at}.type`, `a ${JSON.stringify(block?.type)} block cannot be translated to an OpenAI-compatible API`)
      })
      if (parts.length > 0) messages.push({ role: 'user', content: parts.every((p) => p.type === 'text') ? parts.map((p) => p.text).join('') : parts })
    } else if (message.role === 'assistant') {
      let content = ''
      const calls: unknown[] = []
      blocks.forEach((block: any, j: number) => {
        if (block?.type === 'text') content += block.text ?? ''
        else if (block?.type === 'tool_use') calls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } })
        else if (block?.type !== 'thinking' && block?.type !== 'redacted_thinking') throw refuse(`${field}.content.${j}.type`, `a ${JSON.stringify(block?.type)} block cannot be translated to an OpenAI-compatible API`)
      })
      messages.push({ role: 'assistant', content: content === '' && calls.length > 0 ? null : content, ...(calls.length > 0 ? { tool_calls: calls } : {}) })
    } else {
      throw refuse(`${field}.role`, "Input should be 'user' or 'assistant'")
    }
  })
  const out: Record<string, unknown> = { model: options.models.get(body.model) ?? body.model, messages, max_tokens: body.max_tokens }
  if (body.stream === true) Object.assign(out, { stream: true, stream_options: { include_usage: true } })
  if (body.temperature !== undefined) out.temperature = body.temperature
  if (body.top_p !== undefined) out.top_p = body.top_p
  // Not OpenAI's, but vLLM, Ollama and LocalAI take it; OpenAI itself refuses it with its own 400.
  if (body.top_k !== undefined) out.top_k = body.top_k
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) out.stop = body.stop_sequences
  if (typeof body.metadata?.user_id === 'string') out.user = body.metadata.user_id
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    out.tools = body.tools.map((tool: any, i: number) => {
      if (tool?.type !== undefined && tool.type !== 'custom') throw refuse(`tools.${i}.type`, `the server tool ${JSON.stringify(tool.type)} has no OpenAI-compatible counterpart`)
      return { type: 'function', function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.input_schema ?? { type: 'object', properties: {} } } }
    })
  }
  const choice = body.tool_choice
  if (choice) {
    if (choice.type === 'auto') out.tool_choice = 'auto'
    else if (choice.type === 'any') out.tool_choice = 'required'
    else if (choice.type === 'none') out.tool_choice = 'none'
    else if (choice.type === 'tool') out.tool_choice = { type: 'function', function: { name: choice.name } }
    else throw refuse('tool_choice.type', "Input should be 'auto', 'any', 'tool' or 'none'")
    if (choice.disable_parallel_tool_use === true && out.tools) out.parallel_tool_calls = false
  }
  if (body.thinking?.type === 'enabled') out.reasoning_effort = reasoningEffort(Number(body.thinking.budget_tokens) || 0)
  return out
}
