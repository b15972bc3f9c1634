import { styleText } from 'node:util'
import type { ChatLogRecord } from './types.ts'

type Style = Parameters<typeof styleText>[0]

const MAX_TEXT = 160

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > MAX_TEXT ? `${flat.slice(0, MAX_TEXT - 1)}…` : flat
}

/** The last thing the user said: the last user message, or the prompt / input. */
function lastUserText(request: Record<string, unknown> | null): string | undefined {
  if (!request) return undefined
  const messages = request.messages
  if (Array.isArray(messages)) {
    for (let i = messages.length - 1; i >= 0; i--) {
      const message = messages[i] as { role?: unknown; content?: unknown }
      if (message?.role !== 'user') continue
      if (typeof message.content === 'string') return message.content
      if (Array.isArray(message.content)) return message.content.map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join(' ')
    }
    return undefined
  }
  const text = request.prompt ?? request.input
  return typeof text === 'string' ? text : text === undefined ? undefined : JSON.stringify(text)
}

/**
 * A compact summary of one exchange for the console, as the original's PRINT_CHAT showed it:
 * a header line, what the user said, and what the assistant answered (or which tools it called).
 * Colours only when `colour` (a terminal).
 */
export function formatExchange(record: ChatLogRecord, colour: boolean): string {
  const paint = (style: Style, text: string) => (colour ? styleText(style, text) : text)
  const ok = record.status > 0 && record.status < 400 && record.outcome === 'complete'
  const usage = record.usage ? ` · ${record.usage.totalTokens} tokens${record.usage.estimated ? ' (est.)' : ''}` : ''
  const header = [
    paint('cyan', `[${record.route}/${record.kind}]`),
    record.model ?? '-',
    record.caller ?? record.ip,
    paint(ok ? 'green' : 'red', `${record.status || '-'} ${record.outcome}`),
    `${(record.totalMs / 1000).toFixed(2)} s${usage}${record.cacheHit ? ' · cache' : ''}`,
  ].join(' ')
  const lines = [header]
  const asked = lastUserText(record.request)
  if (asked !== undefined) lines.push(`  ${paint('yellow', 'user:')} ${oneLine(asked)}`)
  for (const choice of record.answer?.choices ?? []) {
    const label = paint('magenta', record.answer!.choices.length > 1 ? `assistant[${choice.index}]:` : 'assistant:')
    const calls = choice.toolCalls.map((call) => `${call.function.name}(${call.function.arguments})`).join(', ')
    lines.push(`  ${label} ${oneLine(calls ? `→ ${calls}` : choice.content)}`)
  }
  if (record.error) lines.push(`  ${paint('red', 'error:')} ${oneLine(record.error.message)}`)
  return lines.join('\n')
}
