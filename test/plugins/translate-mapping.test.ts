// translate: each mapping table case by case, the stream mapping event by event, the options check.
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/index.ts'
import { keys, translate } from '../../plugins/index.ts'
import { startTestGateway } from '../helpers/gateway.ts'
import { anthropicRequest, THINKING_BUDGETS } from '../../plugins/translate/anthropic/request.ts'
import { ANTHROPIC_FINISH_REASONS, finishReason, openaiUsage } from '../../plugins/translate/anthropic/response.ts'
import { AnthropicStream, textDelta } from '../../plugins/translate/anthropic/stream.ts'
import { anthropicError, providerError } from '../../plugins/translate/errors.ts'
import { checkChatFields } from '../../plugins/translate/fields.ts'
import { resolveTranslateOptions } from '../../plugins/translate/options.ts'
import { geminiRequest, GEMINI_THINKING_BUDGETS } from '../../plugins/translate/gemini/request.ts'
import { GEMINI_FINISH_REASONS, finishReason as geminiFinish, openaiCompletion as geminiCompletion, openaiUsage as geminiUsage } from '../../plugins/translate/gemini/response.ts'
import { GeminiStream } from '../../plugins/translate/gemini/stream.ts'
import { openaiRequest, reasoningEffort } from '../../plugins/translate/from-anthropic/request.ts'
import { anthropicUsage, OPENAI_STOP_REASONS, stopReason } from '../../plugins/translate/from-anthropic/response.ts'
import { OpenAIStream } from '../../plugins/translate/from-anthropic/stream.ts'

const options = resolveTranslateOptions({ to: 'anthropic' })
const request = (messages: unknown[], extra: object = {}) => anthropicRequest({ model: 'm', messages, ...extra }, options)
const thrown = (fn: () => unknown) => {
  try {
    fn()
  } catch (error) {
    return error as any
  }
  throw new Error('did not throw')
}

describe('options', () => {
  it.each([
    [{ to: 'anthropic', modles: {} }, 'plugins.translate.modles: unknown option; did you mean "models"?'],
    [{ too: 'anthropic' }, 'plugins.translate.too: unknown option; did you mean "to"?'],
    [{ to: 'anthropic', maxToken: 5 }, 'plugins.translate.maxToken: unknown option; did you mean "maxTokens"?'],
    [{}, 'plugins.translate: needs exactly one of'],
    [{ to: 'anthropic', from: 'anthropic' }, 'plugins.translate: needs exactly one of'],
    [{ to: 'mistral' }, "plugins.translate.to: must be 'anthropic' or 'gemini'"],
    [{ from: 'gemini' }, "plugins.translate.from: must be 'anthropic'"],
    [{ to: 'gemini', models: { 'gpt-4o': 3 } }, 'plugins.translate.models.gpt-4o: must be a model name'],
    [{ to: 'anthropic', maxTokens: 0 }, 'plugins.translate.maxTokens: must be a whole number > 0'],
  ])('%j is refused: %s', (given, message) => {
    const error = thrown(() => translate(given as never))
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toContain(message)
  })
})

describe('roles (OpenAI → Anthropic)', () => {
  it('system and developer → system; user and assistant kept; tool → a user turn of tool_result', () => {
    const out = request([
      { role: 'system', content: 'A' },
      { role: 'developer', content: [{ type: 'text', text: 'B' }] },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'calling', tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }, { id: 't2', type: 'function', function: { name: 'g', arguments: '' } }] },
      { role: 'tool', tool_call_id: 't1', content: 'one' },
      { role: 'tool', tool_call_id: 't2', content: [{ type: 'text', text: 'two' }] },
      { role: 'user', content: 'and?' },
    ])
    expect(out.system).toBe('A\n\nB')
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'calling' }, { type: 'tool_use', id: 't1', name: 'f', input: { x: 1 } }, { type: 'tool_use', id: 't2', name: 'g', input: {} }] },
      // Both results and the next user text: one user turn (Anthropic's turns alternate).
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'one' }, { type: 'tool_result', tool_use_id: 't2', content: 'two' }, { type: 'text', text: 'and?' }] },
    ])
  })

  it.each([
    [[{ role: 'function', name: 'f', content: 'x' }], 'messages[0].role'],
    [[{ role: 'tool', content: 'x' }], 'messages[0].tool_call_id'],
    [[{ role: 'assistant', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{oops' } }] }], 'messages[0].tool_calls[0].function.arguments'],
    [[{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }], 'messages[0].content[0].image_url.url'],
    [[{ role: 'user', content: [{ type: 'file', file: { file_id: 'f' } }] }], 'messages[0].content[0].type'],
    [[{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }], 'messages[0].content[0]'],
  ])('%j → 400 naming %s', (messages, param) => {
    const error = thrown(() => request(messages))
    expect(error.status).toBe(400)
    expect(error.toJSON().error.param).toBe(param)
  })

  it('reasoning_effort → a thinking budget, added to max_tokens; none → no thinking', () => {
    for (const [effort, budget] of Object.entries(THINKING_BUDGETS)) {
      expect(request([{ role: 'user', content: 'x' }], { reasoning_effort: effort, max_tokens: 10 })).toMatchObject({ thinking: { type: 'enabled', budget_tokens: budget }, max_tokens: 10 + budget })
    }
    expect(request([{ role: 'user', content: 'x' }], { reasoning_effort: 'none' })).not.toHaveProperty('thinking')
    expect(thrown(() => request([{ role: 'user', content: 'x' }], { reasoning_effort: 'extreme' })).toJSON().error.param).toBe('reasoning_effort')
  })

  it('the documented default max_tokens applies only when the client sets none', () => {
    expect(request([{ role: 'user', content: 'x' }]).max_tokens).toBe(4096)
    expect(anthropicRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }] }, resolveTranslateOptions({ to: 'anthropic', maxTokens: 512 })).max_tokens).toBe(512)
  })

  it('fields: the ones with no Anthropic counterpart are refused, unknown ones too, gateway ones pass', () => {
    expect(() => checkChatFields('anthropic', { model: 'm', messages: [{}], caching: true, stream_options: { include_usage: true }, user: 'u', store: false })).not.toThrow()
    expect(thrown(() => checkChatFields('anthropic', { model: 'm', messages: [{}], seed: 1 })).toJSON().error).toMatchObject({ param: 'seed', code: 'unknown_parameter' })
    expect(thrown(() => checkChatFields('anthropic', { model: 'm', messages: [] })).toJSON().error.param).toBe('messages')
  })
})

describe('finish reasons (Anthropic → OpenAI)', () => {
  it.each(Object.entries({ end_turn: 'stop', stop_sequence: 'stop', pause_turn: 'stop', max_tokens: 'length', model_context_window_exceeded: 'length', tool_use: 'tool_calls', refusal: 'content_filter' }))('%s → %s', (reason, expected) => {
    expect(ANTHROPIC_FINISH_REASONS[reason]).toBe(expected)
    expect(finishReason(reason, undefined)).toBe(expected)
  })

  it('tool_use of the JSON-answer tool is a finished answer', () => {
    expect(finishReason('tool_use', 'json_answer')).toBe('stop')
    expect(finishReason(null, undefined)).toBeNull()
  })

  it('usage: cache reads and writes count in prompt_tokens, reads also as cached_tokens', () => {
    expect(openaiUsage({ input_tokens: 10, cache_read_input_tokens: 5, cache_creation_input_tokens: 3, output_tokens: 7 })).toEqual({
      prompt_tokens: 18, completion_tokens: 7, total_tokens: 25, prompt_tokens_details: { cached_tokens: 5 },
    })
  })
})

describe('errors', () => {
  it.each([
    ['invalid_request_error', 400, 'invalid_request_error'],
    ['authentication_error', 401, 'authentication_error'],
    ['permission_error', 403, 'permission_error'],
    ['not_found_error', 404, 'not_found_error'],
    ['request_too_large', 413, 'invalid_request_error'],
    ['rate_limit_error', 429, 'rate_limit_error'],
    ['api_error', 500, 'api_error'],
    ['overloaded_error', 529, 'api_error'],
  ])('Anthropic %s (%i) → type %s, the Anthropic type as code', (kind, status, type) => {
    expect(providerError('anthropic', status, JSON.stringify({ type: 'error', error: { type: kind, message: 'm' } }))).toEqual({ error: { message: 'm', type, param: null, code: kind } })
  })

  it('a body that is not JSON keeps the status and text; the sent key is cut out', () => {
    expect(providerError('anthropic', 502, '<html>bad gateway</html>').error).toMatchObject({ message: 'Anthropic answered HTTP 502: <html>bad gateway</html>', type: 'api_error' })
    expect(providerError('anthropic', 401, '{"error":{"type":"authentication_error","message":"bad key sk-ant-secret-123"}}', 'sk-ant-secret-123').error.message).toBe('bad key ***')
  })

  it('OpenAI errors → Anthropic shape, by status', () => {
    expect(anthropicError(429, '{"error":{"message":"slow down","type":"requests"}}')).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } })
    expect(anthropicError(503, 'x').error.type).toBe('overloaded_error')
    expect(anthropicError(401, '{}').error).toEqual({ type: 'authentication_error', message: 'The upstream answered HTTP 401' })
  })
})

describe('Anthropic stream → OpenAI chunks, event by event', () => {
  const ev = (data: object) => JSON.stringify(data)
  const chunk = (text: string) => JSON.parse(text.slice(6))

  it('maps each event as it comes; ping, block stops and signatures make nothing', () => {
    const s = new AnthropicStream(undefined)
    const start = s.event('message_start', ev({ type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 9, output_tokens: 1 } } }))
    expect(chunk(start)).toMatchObject({ id: 'chatcmpl-msg_1', object: 'chat.completion.chunk', model: 'claude', choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })
    expect(s.event('ping', ev({ type: 'ping' }))).toBe('')
    expect(s.event(undefined, ev({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }))).toBe('')
    expect(chunk(s.event(undefined, ev({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hm' } }))).choices[0].delta).toEqual({ reasoning_content: 'hm' })
    expect(s.event(undefined, ev({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig' } }))).toBe('')
    expect(s.event(undefined, ev({ type: 'content_block_stop', index: 0 }))).toBe('')
    expect(chunk(s.event(undefined, ev({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hi "you"' } }))).choices[0].delta).toEqual({ content: 'Hi "you"' })
    const toolStart = chunk(s.event(undefined, ev({ type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } })))
    expect(toolStart.choices[0].delta).toEqual({ tool_calls: [{ index: 0, id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '' } }] })
    expect(chunk(s.event(undefined, ev({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"a":' } }))).choices[0].delta).toEqual({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] })
    const second = chunk(s.event(undefined, ev({ type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'toolu_2', name: 'g', input: {} } })))
    expect(second.choices[0].delta.tool_calls[0].index).toBe(1)
    const finish = chunk(s.event(undefined, ev({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 12 } })))
    expect(finish.choices[0]).toEqual({ index: 0, delta: {}, finish_reason: 'tool_calls' })
    const [usage, done] = s.event(undefined, ev({ type: 'message_stop' })).split('\n\n')
    expect(chunk(usage)).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 } })
    expect(done).toBe('data: [DONE]')
    expect(s.end()).toBe('')
  })

  it.each([
    ['plain', true],
    ['line\nbreak and tab\t', true],
    ['unicode é ✓ \u2028', true],
    ['back\\slash', true],
    ['a "quoted" word', false],
    ['ends in a backslash \\', false],
    ['\u0001 control', true],
  ])('text_delta %j: the content reaches the client exactly (read without a parse: %s)', (text, fast) => {
    const data = JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })
    expect(textDelta(data) !== undefined).toBe(fast)
    const s = new AnthropicStream(undefined)
    s.event(undefined, JSON.stringify({ type: 'message_start', message: { id: 'm', model: 'c' } }))
    expect(chunk(s.event(undefined, data)).choices[0].delta).toEqual({ content: text })
  })

  it('text_delta read without a parse only in its exact form', () => {
    expect(textDelta('{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x"}}')).toBe('x')
    expect(textDelta('{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","extra":1}}')).toBeUndefined()
    expect(textDelta('{"type":"content_block_delta","index":"0","delta":{"type":"text_delta","text":"x"}}')).toBeUndefined()
    expect(textDelta('{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"x"}}')).toBeUndefined()
  })

  it('an error event ends the stream with the gateway error event; nothing after it', () => {
    const s = new AnthropicStream(undefined)
    s.event(undefined, ev({ type: 'message_start', message: { id: 'm', model: 'c' } }))
    expect(s.event('error', ev({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }))).toBe('data: {"error":{"message":"Overloaded","type":"api_error","param":null,"code":"overloaded_error"}}\n\n')
    expect(s.event(undefined, ev({ type: 'message_stop' }))).toBe('')
    expect(s.end()).toBe('')
  })

  it('a stream that ends without message_stop ends with an error event, not a silent cut', () => {
    const s = new AnthropicStream(undefined)
    s.event(undefined, ev({ type: 'message_start', message: { id: 'm', model: 'c' } }))
    expect(chunk(s.end()).error.code).toBe('upstream_incomplete')
  })
})

describe('placement on a route', () => {
  it.each([
    [{ type: 'openai' as const, plugins: [translate({ to: 'anthropic' }), keys({ keys: ['sk-x'] })] }, 'routes.r.plugins: put keys before translate'],
    [{ type: 'general' as const, dialect: 'anthropic' as const, plugins: [translate({ to: 'anthropic' })] }, "routes.r.type: must be 'openai' for translate({ to })"],
    [{ type: 'openai' as const, plugins: [translate({ from: 'anthropic' })] }, "routes.r: must be type: 'general', dialect: 'anthropic' for translate({ from: 'anthropic' })"],
  ])('a misplaced translate fails the load: %#', async (route, message) => {
    const error = await startTestGateway({ routes: { r: { path: '/', target: 'http://127.0.0.1:9', ...route } } }).catch((e) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect(error.message).toContain(message)
  })
})

describe('Gemini', () => {
  const gemini = (messages: unknown[], extra: object = {}) => geminiRequest({ model: 'g', messages, ...extra }, resolveTranslateOptions({ to: 'gemini' }))

  it('roles: system/developer → systemInstruction, assistant → model with functionCall, tool → functionResponse named by the call', () => {
    const out = gemini([
      { role: 'developer', content: 'D' },
      { role: 'user', content: 'u' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: '{"ok":true}' },
      { role: 'tool', tool_call_id: 'c1', content: 'plain' },
    ])
    expect(out).toEqual({
      systemInstruction: { parts: [{ text: 'D' }] },
      contents: [
        { role: 'user', parts: [{ text: 'u' }] },
        { role: 'model', parts: [{ functionCall: { name: 'f', args: { a: 1 } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'f', response: { ok: true } } }, { functionResponse: { name: 'f', response: { content: 'plain' } } }] },
      ],
    })
  })

  it.each([
    [[{ role: 'tool', tool_call_id: 'nope', content: 'x' }], {}, 'messages[0].tool_call_id'],
    [[{ role: 'function', content: 'x' }], {}, 'messages[0].role'],
    [[{ role: 'user', content: 'x' }], { response_format: { type: 'xml' } }, 'response_format.type'],
    [[{ role: 'user', content: 'x' }], { tools: [{ type: 'custom', custom: { name: 'c' } }] }, 'tools[0]'],
  ])('%j %j → 400 naming %s', (messages, extra, param) => {
    expect(thrown(() => gemini(messages, extra)).toJSON().error.param).toBe(param)
  })

  it('tool_choice and reasoning_effort tables', () => {
    const ask = (tool_choice: unknown) => gemini([{ role: 'user', content: 'x' }], { tool_choice }).toolConfig
    expect(ask('auto')).toEqual({ functionCallingConfig: { mode: 'AUTO' } })
    expect(ask('none')).toEqual({ functionCallingConfig: { mode: 'NONE' } })
    expect(ask('required')).toEqual({ functionCallingConfig: { mode: 'ANY' } })
    expect(ask({ type: 'function', function: { name: 'f' } })).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f'] } })
    for (const [effort, budget] of Object.entries(GEMINI_THINKING_BUDGETS)) {
      expect((gemini([{ role: 'user', content: 'x' }], { reasoning_effort: effort }).generationConfig as any).thinkingConfig.thinkingBudget).toBe(budget)
    }
  })

  it.each(Object.entries(GEMINI_FINISH_REASONS))('finishReason %s → %s', (reason, expected) => {
    expect(geminiFinish(reason, false)).toBe(expected)
  })

  it('a prompt Gemini blocked (no candidates, promptFeedback.blockReason) is an empty content_filter answer', () => {
    const answer = geminiCompletion({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 4, totalTokenCount: 4 } }, 'g') as any
    expect(answer.choices).toEqual([{ index: 0, message: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: 'content_filter' }])
    expect(answer.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 0 })
  })

  it('STOP after a function call is tool_calls; SAFETY stays content_filter', () => {
    expect(geminiFinish('STOP', true)).toBe('tool_calls')
    expect(geminiFinish('SAFETY', true)).toBe('content_filter')
  })

  it('usage: thoughts are completion tokens and reasoning tokens; cached content tokens are cached_tokens', () => {
    expect(geminiUsage({ promptTokenCount: 10, candidatesTokenCount: 5, thoughtsTokenCount: 3, totalTokenCount: 18, cachedContentTokenCount: 4 })).toEqual({
      prompt_tokens: 10, completion_tokens: 8, total_tokens: 18, prompt_tokens_details: { cached_tokens: 4 }, completion_tokens_details: { reasoning_tokens: 3 },
    })
  })

  it.each([
    [400, 'INVALID_ARGUMENT', 'invalid_request_error'],
    [401, 'UNAUTHENTICATED', 'authentication_error'],
    [403, 'PERMISSION_DENIED', 'permission_error'],
    [404, 'NOT_FOUND', 'not_found_error'],
    [429, 'RESOURCE_EXHAUSTED', 'rate_limit_error'],
    [500, 'INTERNAL', 'api_error'],
    [503, 'UNAVAILABLE', 'api_error'],
    [504, 'DEADLINE_EXCEEDED', 'timeout_error'],
  ])('error %i %s → type %s', (status, name, type) => {
    expect(providerError('gemini', status, JSON.stringify({ error: { code: status, message: 'm', status: name } }))).toEqual({ error: { message: 'm', type, param: null, code: name.toLowerCase() } })
  })

  it('stream: each candidate is its own choice; a whole function call is one tool call chunk; usage and [DONE] at the end', () => {
    const s = new GeminiStream('g')
    const out = s.event(undefined, JSON.stringify({ responseId: 'r1', modelVersion: 'gemini-x', candidates: [
      { index: 0, content: { role: 'model', parts: [{ text: 'a' }] } },
      { index: 1, content: { role: 'model', parts: [{ functionCall: { name: 'f', args: { x: 1 } } }] }, finishReason: 'STOP' },
    ], usageMetadata: { promptTokenCount: 3 } }))
    const chunks = out.trim().split('\n\n').map((e) => JSON.parse(e.slice(6)))
    expect(chunks.map((c) => [c.choices[0].index, c.choices[0].delta, c.choices[0].finish_reason])).toEqual([
      [0, { role: 'assistant', content: '' }, null],
      [0, { content: 'a' }, null],
      [1, { role: 'assistant', content: '' }, null],
      [1, { tool_calls: [{ index: 0, id: 'call_r1_1_0', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] }, null],
      [1, {}, 'tool_calls'],
    ])
    expect(chunks[0]).toMatchObject({ id: 'chatcmpl-r1', model: 'gemini-x' })
    s.event(undefined, JSON.stringify({ candidates: [{ index: 0, content: { parts: [{ text: 'b' }] }, finishReason: 'MAX_TOKENS' }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 } }))
    const [usage, done] = s.end().split('\n\n')
    expect(JSON.parse(usage.slice(6)).usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 })
    expect(done).toBe('data: [DONE]')
  })
})

describe('from Anthropic (Anthropic clients → OpenAI-compatible target)', () => {
  const from = resolveTranslateOptions({ from: 'anthropic' })
  const req = (extra: object) => openaiRequest({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], ...extra }, from)

  it.each(Object.entries(OPENAI_STOP_REASONS))('finish_reason %s → stop_reason %s', (finish, expected) => {
    expect(stopReason(finish)).toBe(expected)
  })

  it('usage: cached prompt tokens are cache reads, the rest input tokens', () => {
    expect(anthropicUsage({ prompt_tokens: 10, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 3 } })).toEqual({ input_tokens: 7, output_tokens: 4, cache_creation_input_tokens: 0, cache_read_input_tokens: 3 })
  })

  it('sampling and the rest: temperature, top_p and top_k as they are, stop_sequences → stop, metadata.user_id → user, stream asks for usage', () => {
    expect(req({ temperature: 0.2, top_p: 0.5, top_k: 4, stop_sequences: ['X'], metadata: { user_id: 'u1' }, stream: true, system: [{ type: 'text', text: 'S' }] })).toEqual({
      model: 'm', max_tokens: 5, temperature: 0.2, top_p: 0.5, top_k: 4, stop: ['X'], user: 'u1', stream: true, stream_options: { include_usage: true },
      messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'x' }],
    })
    expect(openaiRequest({ model: 'claude-a', max_tokens: 1, messages: [] }, resolveTranslateOptions({ from: 'anthropic', models: { 'claude-a': 'llama' } })).model).toBe('llama')
  })

  it('tool_choice table, disable_parallel_tool_use, thinking budget → reasoning_effort', () => {
    const tools = [{ name: 't', input_schema: { type: 'object' } }]
    expect(req({ tools, tool_choice: { type: 'auto' } }).tool_choice).toBe('auto')
    expect(req({ tools, tool_choice: { type: 'any' } }).tool_choice).toBe('required')
    expect(req({ tools, tool_choice: { type: 'none' } }).tool_choice).toBe('none')
    expect(req({ tools, tool_choice: { type: 'tool', name: 't', disable_parallel_tool_use: true } })).toMatchObject({ tool_choice: { type: 'function', function: { name: 't' } }, parallel_tool_calls: false })
    expect([1024, 4096, 16384].map(reasoningEffort)).toEqual(['low', 'medium', 'high'])
  })

  it('a user turn of tool results and text: the tool messages first, then the text', () => {
    const out = openaiRequest({ model: 'm', max_tokens: 5, messages: [
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'hm', signature: 's' }, { type: 'tool_use', id: 'a', name: 'f', input: { q: 1 } }] },
      { role: 'user', content: [{ type: 'text', text: 'here:' }, { type: 'tool_result', tool_use_id: 'a', content: [{ type: 'text', text: 'r' }], is_error: true }] },
    ] }, from)
    expect(out.messages).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{"q":1}' } }] },
      { role: 'tool', tool_call_id: 'a', content: 'Error: r' },
      { role: 'user', content: 'here:' },
    ])
  })

  it.each([
    [{ container: 'c' }, 'container'],
    [{ tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools.0.type'],
    [{ messages: [{ role: 'system', content: 'x' }] }, 'messages.0.role'],
    [{ max_tokens: undefined }, 'max_tokens'],
  ])('%j → 400 naming %s', (extra, param) => {
    expect(thrown(() => req(extra)).toJSON().error.param).toBe(param)
  })

  it('stream: blocks open and close as the kind of delta changes; [DONE] gives message_delta with usage and message_stop', () => {
    const s = new OpenAIStream()
    const names = (text: string) => [...text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])
    const chunk = (delta: object, finish: string | null = null) => JSON.stringify({ id: 'chatcmpl-1', model: 'gpt', choices: [{ index: 0, delta, finish_reason: finish }] })
    expect(names(s.event(undefined, chunk({ role: 'assistant', reasoning_content: 'r' })))).toEqual(['message_start', 'content_block_start', 'content_block_delta'])
    expect(names(s.event(undefined, chunk({ content: 'a' })))).toEqual(['content_block_stop', 'content_block_start', 'content_block_delta'])
    expect(names(s.event(undefined, chunk({ content: 'b' })))).toEqual(['content_block_delta'])
    const tool = s.event(undefined, chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a"' } }] }))
    expect(names(tool)).toEqual(['content_block_stop', 'content_block_start', 'content_block_delta'])
    expect(tool).toContain('"content_block":{"type":"tool_use","id":"call_1","name":"f","input":{}}')
    expect(tool).toContain('"index":2,"delta":{"type":"input_json_delta","partial_json":"{\\"a\\""}')
    expect(names(s.event(undefined, chunk({ tool_calls: [{ index: 1, id: 'call_2', function: { name: 'g', arguments: '{}' } }] })))).toEqual(['content_block_stop', 'content_block_start', 'content_block_delta'])
    expect(names(s.event(undefined, chunk({}, 'tool_calls')))).toEqual(['content_block_stop'])
    expect(s.event(undefined, JSON.stringify({ id: 'chatcmpl-1', choices: [], usage: { prompt_tokens: 9, completion_tokens: 3 } }))).toBe('')
    const end = s.event(undefined, '[DONE]')
    expect(names(end)).toEqual(['message_delta', 'message_stop'])
    expect(JSON.parse(/data: (.*)/.exec(end)![1])).toEqual({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { input_tokens: 9, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } })
    expect(s.end()).toBe('')
  })

  it('an error chunk becomes the error event; an end with neither [DONE] nor finish reason is an error too', () => {
    const s = new OpenAIStream()
    expect(s.event(undefined, '{"error":{"message":"boom","type":"upstream_error","param":null,"code":"x"}}')).toBe('event: error\ndata: {"type":"error","error":{"type":"api_error","message":"boom"}}\n\n')
    const cut = new OpenAIStream()
    cut.event(undefined, JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: 'a' } }] }))
    expect(cut.end()).toContain('event: error')
    const finished = new OpenAIStream()
    finished.event(undefined, JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: 'a' }, finish_reason: 'length' }] }))
    expect(finished.end()).toContain('"stop_reason":"max_tokens"')
  })
})
