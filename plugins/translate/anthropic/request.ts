import { invalid, unsupported } from '../errors.ts'
import { imageSource, parseArguments, textContent } from '../content.ts'
import type { ResolvedTranslateOptions } from '../options.ts'

type Block = Record<string, unknown>
interface Message {
  role: 'user' | 'assistant'
  content: Block[]
}

/** `reasoning_effort` → Anthropic's thinking budget (tokens; Anthropic's minimum is 1024). */
export const THINKING_BUDGETS: Readonly<Record<string, number>> = { minimal: 1024, low: 1024, medium: 4096, high: 16384 }

/** OpenAI `tool_choice` → Anthropic's. */
function toolChoice(choice: unknown): Block | undefined {
  if (choice === undefined || choice === null) return undefined
  if (choice === 'auto') return { type: 'auto' }
  if (choice === 'none') return { type: 'none' }
  if (choice === 'required') return { type: 'any' }
  const named = choice as { type?: unknown; function?: { name?: unknown } }
  if (named?.type === 'function' && typeof named.function?.name === 'string') return { type: 'tool', name: named.function.name }
  throw invalid('tool_choice', "must be 'auto', 'none', 'required' or { type: 'function', function: { name } }")
}

function tools(list: unknown): Block[] | undefined {
  if (list === undefined || list === null) return undefined
  if (!Array.isArray(list)) throw invalid('tools', 'must be a list of tools')
  return list.map((tool, i) => {
    if (tool?.type !== 'function' || typeof tool.function?.name !== 'string') throw unsupported('anthropic', `tools[${i}]`, `\`tools[${i}]\` of type ${JSON.stringify(tool?.type)} (only function tools)`)
    const { name, description, parameters } = tool.function
    return { name, ...(description ? { description } : {}), input_schema: parameters ?? { type: 'object', properties: {} } }
  })
}

/** A user message's parts → Anthropic content blocks. */
function userBlocks(content: unknown, field: string): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  if (!Array.isArray(content)) throw invalid(field, 'must be a string or a list of parts')
  return content.map((part, i): Block => {
    if (part?.type === 'text') return { type: 'text', text: String(part.text ?? '') }
    if (part?.type === 'image_url') {
      const image = imageSource(part, `${field}[${i}]`)
      return { type: 'image', source: image.kind === 'base64' ? { type: 'base64', media_type: image.mediaType, data: image.data } : { type: 'url', url: image.url } }
    }
    throw unsupported('anthropic', `${field}[${i}].type`, `a content part of type ${JSON.stringify(part?.type)} (\`${field}[${i}]\`)`)
  })
}

function assistantBlocks(message: any, field: string): Block[] {
  const blocks: Block[] = []
  const text = textContent(message.content, `${field}.content`)
  if (text !== '') blocks.push({ type: 'text', text })
  if (message.tool_calls !== undefined && message.tool_calls !== null) {
    if (!Array.isArray(message.tool_calls)) throw invalid(`${field}.tool_calls`, 'must be a list')
    message.tool_calls.forEach((call: any, i: number) => {
      const at = `${field}.tool_calls[${i}]`
      if (typeof call?.id !== 'string' || typeof call.function?.name !== 'string') throw invalid(at, 'must have an id and a function name')
      blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseArguments(call.function.arguments, `${at}.function.arguments`) })
    })
  }
  return blocks
}

/** Adds blocks as a turn of `role`, joined to the last turn when it has the same role (Anthropic alternates). */
function push(messages: Message[], role: Message['role'], content: Block[]): void {
  const last = messages[messages.length - 1]
  if (last?.role === role) last.content.push(...content)
  else messages.push({ role, content })
}

/**
 * An OpenAI chat completion request as an Anthropic Messages request. System and developer messages
 * become `system`; tool results become `tool_result` blocks of a user turn; turns of one role in a
 * row are joined. Throws a `TranslateError` (400) for what Anthropic cannot express.
 */
export function anthropicRequest(body: any, options: ResolvedTranslateOptions): Record<string, unknown> {
  const system: string[] = []
  const messages: Message[] = []
  ;(body.messages as any[]).forEach((message, i) => {
    const field = `messages[${i}]`
    switch (message?.role) {
      case 'system':
      case 'developer':
        system.push(textContent(message.content, `${field}.content`))
        break
      case 'user':
        push(messages, 'user', userBlocks(message.content, `${field}.content`))
        break
      case 'assistant': {
        const blocks = assistantBlocks(message, field)
        if (blocks.length > 0) push(messages, 'assistant', blocks)
        break
      }
      case 'tool':
        if (typeof message.tool_call_id !== 'string') throw invalid(`${field}.tool_call_id`, 'must name the tool call this answers')
        push(messages, 'user', [{ type: 'tool_result', tool_use_id: message.tool_call_id, content: textContent(message.content, `${field}.content`) }])
        break
      default:
        throw unsupported('anthropic', `${field}.role`, `the role ${JSON.stringify(message?.role)} (\`${field}.role\`)`)
    }
  })
  const out: Record<string, unknown> = {
    model: options.models.get(body.model) ?? body.model,
    messages,
    max_tokens: body.max_completion_tokens ?? body.max_tokens ?? options.maxTokens,
  }
  if (system.length > 0) out.system = system.join('\n\n')
  if (body.stream === true) out.stream = true
  if (body.temperature !== undefined && body.temperature !== null) out.temperature = body.temperature
  if (body.top_p !== undefined && body.top_p !== null) out.top_p = body.top_p
  if (body.stop !== undefined && body.stop !== null) out.stop_sequences = Array.isArray(body.stop) ? body.stop : [body.stop]
  const toolList = tools(body.tools)
  if (toolList) out.tools = toolList
  let choice = toolChoice(body.tool_choice)
  if (body.parallel_tool_calls === false && toolList) choice = { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true }
  if (choice) out.tool_choice = choice
  const format = body.response_format
  if (format && format.type !== 'text') {
    if (format.type !== 'json_schema' || typeof format.json_schema?.schema !== 'object') throw unsupported('anthropic', 'response_format', `\`response_format\` of type ${JSON.stringify(format.type)} (Anthropic has JSON only through a schema: use json_schema)`)
    // Anthropic's way to a JSON answer of a given schema: one tool it must call, whose input is the answer.
    if (toolList) throw unsupported('anthropic', 'response_format', '`response_format` together with `tools`')
    const name = typeof format.json_schema.name === 'string' && format.json_schema.name ? format.json_schema.name : 'json_answer'
    out.tools = [{ name, description: 'Answer with this tool: its input is the answer.', input_schema: format.json_schema.schema }]
    out.tool_choice = { type: 'tool', name }
  }
  const effort = body.reasoning_effort
  if (effort !== undefined && effort !== null && effort !== 'none') {
    const budget = THINKING_BUDGETS[effort]
    if (budget === undefined) throw invalid('reasoning_effort', `must be one of ${Object.keys(THINKING_BUDGETS).join(', ')} or none`)
    out.thinking = { type: 'enabled', budget_tokens: budget }
    // Anthropic counts thinking inside max_tokens: the answer keeps the room the client asked for.
    out.max_tokens = (out.max_tokens as number) + budget
  }
  return out
}

/** Whether the request asked for a JSON answer that Anthropic gives as a forced tool call. */
export function jsonAnswerTool(body: any): string | undefined {
  const format = body?.response_format
  if (format?.type !== 'json_schema') return undefined
  return typeof format.json_schema?.name === 'string' && format.json_schema.name ? format.json_schema.name : 'json_answer'
}
