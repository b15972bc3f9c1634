import { mayCarryUsage, requestSlot, type ForwardContext, type SSEEvent } from '../../src/index.ts'
import type { GenerationBody } from './estimate.ts'

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const NULL_USAGE_END = '"usage":null}\n\n'

/**
 * An event whose data ends `"usage":null}`: its top-level usage is null, so it is not the usage event.
 * With `include_usage` every chunk of a stream ends so, and this reads 15 characters instead of
 * scanning the event (it runs on every event of the route).
 */
function endsWithNullUsage(raw: string): boolean {
  const n = NULL_USAGE_END.length
  if (raw.length < n) return false
  for (let i = 1; i <= n; i++) if (raw.charCodeAt(raw.length - i) !== NULL_USAGE_END.charCodeAt(n - i)) return false
  return true
}

/**
 * Makes OpenAI streams end with the upstream's usage (`stream_options.include_usage`), so what a
 * plugin reserved settles to the real count, and hides that extra event from a client that did not
 * ask for it. One per plugin instance: each plugin hides only the event it asked for.
 */
export class StreamUsage {
  /** Requests whose stream carries a usage event the client did not ask for. */
  readonly #hidden = requestSlot<true>('stream usage hidden')

  /** Asks for the usage event when `body` is an OpenAI chat or completions stream. */
  request(ctx: ForwardContext, body: GenerationBody): void {
    if (ctx.route.type !== 'openai' || body.stream !== true || !(Array.isArray(body.messages) || body.prompt !== undefined)) return
    const current = isRecord(body.stream_options) ? body.stream_options : undefined
    if (current?.include_usage === true) return
    ctx.setField('stream_options', { ...current, include_usage: true })
    this.#hidden.set(ctx, true)
  }

  /**
   * Drops the usage event asked for, `{"choices":[],"usage":{…}}`. It runs for every event on the
   * route, so it only glances at `raw`; a spaced usage event is parsed.
   */
  onChunk(ctx: ForwardContext, event: SSEEvent): false | void {
    if (!this.#hidden.has(ctx) || endsWithNullUsage(event.raw) || !mayCarryUsage(event.raw)) return
    // OpenAI writes it compact: told from its text, the event is parsed later, with the other
    // responses' work (settling needs its usage), not here on the stream's path.
    if (event.raw.includes('"choices":[]')) return false
    const json = event.json()
    if (Array.isArray(json?.choices) && json.choices.length === 0 && isRecord(json.usage)) return false
  }
}
