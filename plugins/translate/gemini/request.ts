import { imageSource, parseArguments, textContent } from '../content.ts'
import { invalid, unsupported } from '../errors.ts'
import type { ResolvedTranslateOptions } from '../options.ts'

type Part = Record<string, unknown>
interface Content {
  role: 'user' | 'model'
  parts: Part[]
}

/** `reasoning_effort` → Gemini's `thinkingConfig.thinkingBudget` (tokens; 0 turns thinking off where the model allows). */
export const GEMINI_THINKING_BUDGETS: Readonly<Record<string, number>> = { none: 0, minimal: 512, low: 1024, medium: 8192, high: 24576 }

const IMAGE_TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', heic: 'image/heic', heif: 'image/heif' }

/** An image URL's type, from its file extension (Gemini's `fileData` wants one). */
function imageType(url: string): string {
  const extension = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(new URL(url).pathname)?.[1]?.toLowerCase()
  return (extension && IMAGE_TYPES[extension]) ?? 'image/jpeg'
}

function userParts(content: unknown, field: string): Part[] {
  if (typeof content === 'string') return [{ text: content }]
  if (!Array.isArray(content)) throw invalid(field, 'must be a string or a list of parts')
  return content.map((part, i): Part => {
    if (part?.type === 'text') return { text: String(part.text ?? '') }
    if (part?.type === 'image_url') {
      const image = imageSource(part, `${field}[${i}]`)
      return image.kind === 'base64' ? { inlineData: { mimeType: image.mediaType, data: image.data } } : { fileData: { mimeType: imageType(image.url), fileUri: image.url } }
    }
    throw unsupported('gemini', `${field}[${i}].type`, `a content part of type ${JSON.stringify(part?.type)} (\`${field}[${i}]\`)`)
  })
}

function push(contents: Content[], role: Content['role'], parts: Part[]): void {
  const last = contents[contents.length - 1]
  if (last?.role === role) last.parts.push(...parts)
  else contents.push({ role, parts })
}

function toolConfig(choice: unknown): Part | undefined {
  if (choice === undefined || choice === null) return undefined
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } }
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } }
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } }
  const named = choice as { type?: unknown; function?: { name?: unknown } }
  if (named?.type === 'function' && typeof named.function?.name === 'string') return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [named.function.name] } }
  throw invalid('tool_choice', "must be 'auto', 'none', 'required' or { type: 'function', function: { name } }")
}

/** A tool result's content as the object Gemini's `functionResponse.response` must be. */
function toolResponse(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text)
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value
  } catch {}
  return { content: text }
}

/**
 * An OpenAI chat completion request as a Gemini `generateContent` request. System and developer
 * messages become `systemInstruction`; assistant turns are `model` turns with `functionCall` parts;
 * tool results are `functionResponse` parts, named after the call they answer.
 */
export function geminiRequest(body: any, _options: ResolvedTranslateOptions): Record<string, unknown> {
  const system: string[] = []
  const contents: Content[] = []
  /** Tool call id → function name: Gemini names a function response by its function. */
  const calls = new Map<string, string>()
  ;(body.messages as any[]).forEach((message, i) => {
    const field = `messages[${i}]`
    switch (message?.role) {
      case 'system':
      case 'developer':
        system.push(textContent(message.content, `${field}.content`))
        break
      case 'user':
        push(contents, 'user', userParts(message.content, `${field}.content`))
        break
      case 'assistant': {
        const parts: Part[] = []
        const text = textContent(message.content, `${field}.content`)
        if (text !== '') parts.push({ text })
        if (Array.isArray(message.tool_calls)) {
          message.tool_calls.forEach((call: any, j: number) => {
            const at = `${field}.tool_calls[${j}]`
            if (typeof call?.function?.name !== 'string') throw invalid(at, 'must have a function name')
            if (typeof call.id === 'string') calls.set(call.id, call.function.name)
            parts.push({ functionCall: { name: call.function.name, args: parseArguments(call.function.arguments, `${at}.function.arguments`) } })
          })
        }
        if (parts.length > 0) push(contents, 'model', parts)
        break
      }
      case 'tool': {
        const name = calls.get(message.tool_call_id)
        if (name === undefined) throw invalid(`${field}.tool_call_id`, 'must name a tool call of an earlier assistant message (Gemini answers a function by its name)')
        push(contents, 'user', [{ functionResponse: { name, response: toolResponse(textContent(message.content, `${field}.content`)) } }])
        break
      }
      default:
        throw unsupported('gemini', `${field}.role`, `the role ${JSON.stringify(message?.role)} (\`${field}.role\`)`)
    }
  })
  const generation: Record<string, unknown> = {}
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  if (maxTokens !== undefined && maxTokens !== null) generation.maxOutputTokens = maxTokens
  if (body.temperature !== undefined && body.temperature !== null) generation.temperature = body.temperature
  if (body.top_p !== undefined && body.top_p !== null) generation.topP = body.top_p
  if (body.stop !== undefined && body.stop !== null) generation.stopSequences = Array.isArray(body.stop) ? body.stop : [body.stop]
  if (body.n !== undefined && body.n !== null && body.n !== 1) generation.candidateCount = body.n
  if (body.seed !== undefined && body.seed !== null) generation.seed = body.seed
  if (body.presence_penalty) generation.presencePenalty = body.presence_penalty
  if (body.frequency_penalty) generation.frequencyPenalty = body.frequency_penalty
  const format = body.response_format
  if (format?.type === 'json_object') generation.responseMimeType = 'application/json'
  else if (format?.type === 'json_schema') {
    if (typeof format.json_schema?.schema !== 'object') throw invalid('response_format.json_schema.schema', 'must be a JSON schema')
    generation.responseMimeType = 'application/json'
    generation.responseJsonSchema = format.json_schema.schema
  } else if (format && format.type !== 'text') throw invalid('response_format.type', "must be 'text', 'json_object' or 'json_schema'")
  const effort = body.reasoning_effort
  if (effort !== undefined && effort !== null) {
    const budget = GEMINI_THINKING_BUDGETS[effort]
    if (budget === undefined) throw invalid('reasoning_effort', `must be one of ${Object.keys(GEMINI_THINKING_BUDGETS).join(', ')}`)
    generation.thinkingConfig = budget === 0 ? { thinkingBudget: 0 } : { thinkingBudget: budget, includeThoughts: true }
  }
  const out: Record<string, unknown> = { contents }
  if (system.length > 0) out.systemInstruction = { parts: [{ text: system.join('\n\n') }] }
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    out.tools = [{
      functionDeclarations: body.tools.map((tool: any, i: number) => {
        if (tool?.type !== 'function' || typeof tool.function?.name !== 'string') throw unsupported('gemini', `tools[${i}]`, `\`tools[${i}]\` of type ${JSON.stringify(tool?.type)} (only function tools)`)
        const { name, description, parameters } = tool.function
        return { name, ...(description ? { description } : {}), ...(parameters ? { parametersJsonSchema: parameters } : {}) }
      }),
    }]
  }
  const config = toolConfig(body.tool_choice)
  if (config) out.toolConfig = config
  if (body.parallel_tool_calls === false) throw unsupported('gemini', 'parallel_tool_calls', '`parallel_tool_calls: false`')
  if (Object.keys(generation).length > 0) out.generationConfig = generation
  return out
}
