import type { SSEEvent } from '../plugin/types.ts'

/**
 * A fast path for reading chat completion streams. After their first events, OpenAI-style streams
 * send chunk after chunk that differ only in one short string: the content delta. Parsing each as
 * JSON is most of what assembling an answer costs, so the first plain content chunk becomes a
 * template (the raw event text before and after its content string), and later chunks that are
 * that template around a different string are read by cutting the string out.
 *
 * Exactness: a chunk is only read this way when the part between the template's prefix and suffix
 * holds no quote, backslash-free or validly escaped, and no control character. Such a part can only
 * be the body of the same string, so the chunk parses to the template's object with another content;
 * anything else (a quote, a finish reason, usage, another field) is parsed in full.
 */
export class DeltaTemplate {
  private constructor(
    private readonly prefix: string,
    private readonly suffix: string,
    /** The choice the template's chunks add to. */
    readonly index: number,
  ) {}

  /** A template from a parsed chunk whose only news is content for one choice, else `undefined`. */
  static from(event: SSEEvent, chunk: any): DeltaTemplate | undefined {
    const choices = chunk?.choices
    if (!Array.isArray(choices) || choices.length !== 1 || chunk.usage != null) return undefined
    const choice = choices[0]
    const delta = choice?.delta
    if (typeof choice?.index !== 'number' || choice.finish_reason != null || typeof delta?.content !== 'string' || Object.keys(delta).length !== 1) return undefined
    if (Object.keys(choice).some((key) => key !== 'index' && key !== 'delta' && key !== 'finish_reason' && key !== 'logprobs') || choice.logprobs != null) return undefined
    // The template is cut from the event's raw text, so later events are compared without even
    // reading their `data` field: only a one-line event makes one.
    const { raw } = event
    if (raw !== `data: ${event.data}\n\n`) return undefined
    const needle = `"content":${JSON.stringify(delta.content)}`
    const at = raw.indexOf(needle)
    // The content must appear once, written the canonical way; otherwise no template (full parses).
    if (at === -1 || raw.indexOf(needle, at + 1) !== -1) return undefined
    return new DeltaTemplate(raw.slice(0, at + '"content":"'.length), raw.slice(at + needle.length - 1), choice.index)
  }

  /**
   * The content of an event cut to this template (given its raw text), or `undefined` when it must
   * be parsed in full. A middle with no line break is one `data:` line, as the template's was.
   */
  content(raw: string): string | undefined {
    const { prefix, suffix } = this
    if (raw.length < prefix.length + suffix.length) return undefined
    // Not startsWith/endsWith: on sliced strings, in optimised code, Node 20's V8 makes those ~7× slower.
    if (raw.slice(0, prefix.length) !== prefix || raw.slice(raw.length - suffix.length) !== suffix) return undefined
    const middle = raw.slice(prefix.length, raw.length - suffix.length)
    if (UNSAFE.test(middle)) return undefined
    if (!middle.includes('\\')) return middle
    try {
      // Escapes are JSON's to decode; a trailing lone backslash fails here and takes the full parse.
      return JSON.parse(`"${middle}"`) as string
    } catch {
      return undefined
    }
  }
}

/** A quote or a control character: the string would not be the template's string body. */
const UNSAFE = /["\u0000-\u001f]/
