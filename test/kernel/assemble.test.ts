import { describe, expect, it } from 'vitest'
import { assembleAnswer } from '../../src/gateway/assemble.ts'
import { mayCarryUsage, parseSSE } from '../../src/index.ts'

/** A chat completion stream the way OpenAI writes it, one content delta per chunk. */
function stream(deltas: unknown[], extra: (i: number) => Record<string, unknown> = () => ({})): string {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', system_fingerprint: 'fp' }
  const chunks = [
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], usage: null },
    ...deltas.map((delta, i) => ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: null }], usage: null, ...extra(i) })),
    { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null },
  ]
  return `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`
}

/** The answer's content the slow, obvious way: every event parsed in full. */
function reference(text: string): string {
  return parseSSE(text).map((e) => (e.data === '[DONE]' ? '' : (JSON.parse(e.data).choices[0]?.delta?.content ?? ''))).join('')
}

const tricky = [
  'plain', ' with spaces', 'quote " inside', 'back\\slash', 'trailing backslash \\', '\\', '"', '\n new line', 'tab\there',
  'unicode é ✓ 😀', '\u0000 nul', '"},"logprobs":null,"finish_reason":null}],"usage":null}', '"content":"', '\\u00e9 literal', '', 'end',
]

describe('assembling a chat stream', () => {
  it('reads every delta exactly as a full JSON parse would, whatever the content holds', () => {
    const text = stream(tricky.map((content) => ({ content })))
    const answer = assembleAnswer('openai', undefined, parseSSE(text))!
    expect(answer.choices[0].content).toBe(reference(text))
    expect(answer.choices[0].content).toBe(tricky.join(''))
    expect(answer.choices[0].finishReason).toBe('stop')
  })

  it('parses only the chunks that are not plain content deltas', () => {
    const contents = Array.from({ length: 20 }, (_, i) => `word ${i} `)
    const events = parseSSE(stream(contents.map((content) => ({ content }))))
    let parsed = 0
    for (const event of events) {
      const json = event.json.bind(event)
      event.json = () => (parsed++, json())
    }
    expect(assembleAnswer('openai', undefined, events)!.choices[0].content).toBe(contents.join(''))
    // The role chunk, the first content chunk (the template), the finish chunk and [DONE].
    expect(parsed).toBe(4)
  })

  it('events not written as one `data:` line (CRLF, an id line, a comment) assemble the same, parsed in full', () => {
    const contents = tricky.slice(0, 6)
    const lf = stream(contents.map((content) => ({ content })))
    const variants = [
      lf.replaceAll('\n', '\r\n'),
      lf.replaceAll('data: {', 'id: 7\ndata: {'),
      lf.replaceAll('data: {', ': keep-alive\ndata: {'),
    ]
    for (const text of variants) {
      const answer = assembleAnswer('openai', undefined, parseSSE(text))!
      expect(answer.choices[0].content).toBe(contents.join(''))
      expect(answer.choices[0].finishReason).toBe('stop')
    }
  })

  it('upstream escapes that JSON.stringify would not write (\\u, \\/) decode the same', () => {
    const text = stream(['a', 'b', 'c'].map((content) => ({ content }))).replace('"content":"b"', '"content":"\\u00e9\\/x"')
    expect(assembleAnswer('openai', undefined, parseSSE(text))!.choices[0].content).toBe('aé/xc')
  })

  it('chunks that differ in more than the content (tool calls, finish, another choice, usage) are read in full', () => {
    const text = stream(
      [{ content: 'one' }, { content: 'two' }, { content: 'three' }, { content: 'four' }],
      (i) => (i === 1 ? { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } } : i === 2 ? { choices: [{ index: 1, delta: { content: 'other' }, logprobs: null, finish_reason: null }] } : {}),
    )
    const answer = assembleAnswer('openai', undefined, parseSSE(text))!
    expect(answer.choices.map((c) => c.content)).toEqual(['onetwofour', 'other'])
    expect(answer.usage).toEqual({ promptTokens: 1, completionTokens: 2, totalTokens: 3, estimated: false })
  })

  it('a chunk that is not valid JSON is skipped, as before', () => {
    const text = stream(['a', 'b'].map((content) => ({ content }))).replace('"content":"b"', '"content":"b\\"')
    expect(assembleAnswer('openai', undefined, parseSSE(text))!.choices[0].content).toBe('a')
  })
})

describe('mayCarryUsage (the cheap test run on every event before parsing one)', () => {
  it('says yes to a usage object however it is spaced, and no to usage: null or no usage at all', () => {
    const yes = [
      '{"choices":[],"usage":{"prompt_tokens":4}}',
      '{"choices": [], "usage": {"prompt_tokens": 4}}',
      '{"usage":   {"total_tokens":1}}',
      // A null first and the object later (a Responses event quoting an earlier chunk).
      '{"a":{"usage":null},"response":{"usage":{"input_tokens":3}}}',
    ]
    const no = ['{"choices":[{"delta":{"content":"hi"}}],"usage":null}', '{"choices":[]}', '{"text":"usage: {"}', '']
    expect(yes.map((raw) => mayCarryUsage(`data: ${raw}\n\n`))).toEqual(yes.map(() => true))
    expect(no.map((raw) => mayCarryUsage(`data: ${raw}\n\n`))).toEqual(no.map(() => false))
  })
})
