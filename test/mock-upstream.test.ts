// Self-check of the mock upstream (playground/mock): shapes, SSE, faults and abort visibility.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { expectedReply, speechBytes, startMockUpstream, type MockUpstream } from '../playground/mock/server.ts';

let mock: MockUpstream;
const KEY = 'sk-test-123';

beforeAll(async () => {
  mock = await startMockUpstream({ port: 0 });
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.reset());

function post(path: string, body: unknown, headers: Record<string, string> = {}, init: RequestInit = {}): Promise<Response> {
  return fetch(mock.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: JSON.stringify(body),
    ...init,
  });
}

/** `data:` payloads of an SSE body (JSON-parsed except [DONE]). */
function sseData(text: string): unknown[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).find((l) => l.startsWith('data: ')))
    .filter((l): l is string => !!l)
    .map((l) => l.slice(6))
    .map((d) => (d === '[DONE]' ? d : JSON.parse(d)));
}

const until = async (cond: () => boolean, ms = 1000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
};

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], ...extra });

describe('mock upstream', () => {
  it('answers chat completions as JSON with OpenAI headers and usage', async () => {
    const res = await post('/v1/chat/completions', chat('hi'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    expect(res.headers.get('openai-processing-ms')).not.toBeNull();
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe('10000');
    const j = (await res.json()) as any;
    expect(j.id).toMatch(/^chatcmpl-/);
    expect(j.object).toBe('chat.completion');
    expect(j.choices[0].message.content).toBe(expectedReply('hi'));
    expect(j.choices[0].message.content.startsWith('Hello! You said: hi')).toBe(true);
    expect(j.usage.total_tokens).toBe(j.usage.prompt_tokens + j.usage.completion_tokens);
    const rec = mock.requests[0];
    expect(rec.apiKey).toBe(KEY);
    expect(rec.route).toBe('chat.completions');
    expect(rec.bodySha256).toBe(createHash('sha256').update(rec.body).digest('hex'));
    expect(rec.completed).toBe(true);
    expect(rec.aborted).toBe(false);
  });

  it('streams N content chunks then [DONE], with include_usage', async () => {
    const res = await post('/v1/chat/completions', chat('hello there', { stream: true, stream_options: { include_usage: true } }), { 'x-mock-chunks': '7' });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = sseData(await res.text()) as any[];
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1);
    const content = chunks.filter((c) => c.choices[0]?.delta?.content).map((c) => c.choices[0].delta.content);
    expect(content).toHaveLength(7);
    expect(content.join('')).toBe(expectedReply('hello there', { chunks: 7 }));
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBeGreaterThan(0);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');
  });

  it('interleaves n choices and splits tool-call arguments across chunks', async () => {
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } } } }];
    const res = await post('/v1/chat/completions', chat('Paris', { stream: true, n: 2, tools }), { 'x-mock-chunks': '5' });
    const chunks = (sseData(await res.text()) as any[]).slice(0, -1);
    expect(chunks.slice(0, 4).map((c) => c.choices[0].index)).toEqual([0, 1, 0, 1]);
    const args = chunks
      .filter((c) => c.choices[0].index === 0)
      .flatMap((c) => c.choices[0].delta.tool_calls ?? [])
      .map((t: any) => t.function.arguments);
    expect(args.filter((a: string) => a).length).toBe(5);
    expect(JSON.parse(args.join(''))).toEqual({ city: 'Paris', days: 42 });
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it('returns deterministic speech bytes', async () => {
    const res = await post('/v1/audio/speech', { model: 'tts-1', input: 'Hello world', voice: 'alloy' });
    expect(res.headers.get('content-type')).toBe('audio/mpeg');
    const buf = Buffer.from(await res.arrayBuffer());
    expect(buf.equals(speechBytes('Hello world'))).toBe(true);
  });

  it('transcribes multipart uploads reporting length and sha256; files round-trip', async () => {
    const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 255));
    const fd = new FormData();
    fd.set('model', 'whisper-1');
    fd.set('file', new Blob([bytes]), 'a.wav');
    const r1 = await fetch(`${mock.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: fd });
    const t = (await r1.json()) as any;
    expect(t.text).toContain('5000 bytes');
    expect(t.text).toContain(createHash('sha256').update(bytes).digest('hex'));

    const up = new FormData();
    up.set('purpose', 'batch');
    up.set('file', new Blob([bytes]), 'in.jsonl');
    const f = (await (await fetch(`${mock.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: up })).json()) as any;
    expect(f.bytes).toBe(5000);
    const back = Buffer.from(await (await fetch(`${mock.url}/v1/files/${f.id}/content`, { headers: { authorization: `Bearer ${KEY}` } })).arrayBuffer());
    expect(back.equals(bytes)).toBe(true);
  });

  it('auth: missing → 401, sk-bad → 401, sk-ratelimited → 429 + retry-after; unknown path → 404', async () => {
    const none = await fetch(`${mock.url}/v1/models`);
    expect(none.status).toBe(401);
    const bad = await fetch(`${mock.url}/v1/models`, { headers: { authorization: 'Bearer sk-bad-1' } });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as any).error.code).toBe('invalid_api_key');
    const rl = await fetch(`${mock.url}/v1/models`, { headers: { authorization: 'Bearer sk-ratelimited' } });
    expect(rl.status).toBe(429);
    expect(rl.headers.get('retry-after')).toBe('1');
    const nf = await fetch(`${mock.url}/nope`);
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as any).error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
  });

  it('fail-times: first K requests with a fail-key fail, then succeed', async () => {
    const h = { 'x-mock-fail-times': '2', 'x-mock-fail-key': 'ft-1', 'x-mock-retry-after': '1' };
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const r = await post('/v1/chat/completions', chat('x'), h);
      statuses.push(r.status);
      if (i === 0) expect(r.headers.get('retry-after')).toBe('1');
      await r.arrayBuffer();
    }
    expect(statuses).toEqual([503, 503, 200]);
  });

  it('break-after cuts a stream after N chunks (not counted as a client abort)', async () => {
    const res = await post('/v1/chat/completions', chat('x', { stream: true }), { 'x-mock-break-after': '3' });
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    await until(() => mock.requests[0]?.finishedAt !== null);
    expect(mock.requests[0].aborted).toBe(false);
    expect(mock.requests[0].completed).toBe(false);

    const j = await post('/v1/chat/completions', chat('x'), { 'x-mock-break-after': '1' });
    await expect(j.text()).rejects.toThrow();
  });

  it('reset destroys the connection without an answer', async () => {
    await expect(post('/v1/chat/completions', chat('x'), { 'x-mock-reset': '1' })).rejects.toThrow();
  });

  it('marks a request aborted when the client goes away mid-stream', async () => {
    const ac = new AbortController();
    const res = await post('/v1/chat/completions', chat('x', { stream: true }), { 'x-mock-chunk-delay-ms': '30' }, { signal: ac.signal });
    const reader = res.body!.getReader();
    await reader.read();
    ac.abort();
    await until(() => mock.requests[0]?.aborted === true);
    expect(mock.requests[0].aborted).toBe(true);
    expect(mock.requests[0].completed).toBe(false);
  });

  it('gzip, echo, responses, anthropic and gemini shapes', async () => {
    const gz = await post('/v1/chat/completions', chat('z'), { 'x-mock-gzip': '1' });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(((await gz.json()) as any).object).toBe('chat.completion');

    const echo = (await (await fetch(`${mock.url}/echo/a/b?x=1`, { method: 'PUT', headers: { 'x-custom': 'v' }, body: 'abc' })).json()) as any;
    expect(echo).toMatchObject({ method: 'PUT', path: '/echo/a/b', query: { x: '1' }, bodyLength: 3 });
    expect(echo.headers['x-custom']).toBe('v');

    const rs = await post('/v1/responses', { model: 'gpt-4o', input: 'yo', stream: true }, { 'x-mock-chunks': '4' });
    const rsText = await rs.text();
    expect(rsText.match(/^event: response\.output_text\.delta$/gm)).toHaveLength(4);
    expect(rsText).toContain('event: response.completed');

    const an = await post('/v1/messages', { model: 'claude-x', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'yo' }] }, { 'x-api-key': 'k' });
    const anText = await an.text();
    expect(anText.startsWith('event: message_start')).toBe(true);
    expect(anText).toContain('event: message_stop');
    // Anthropic's SDK sends its key as x-api-key or as a bearer token; with neither the mock refuses.
    const noKey = await fetch(mock.url + '/v1/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages":[]}' });
    expect(noKey.status).toBe(401);

    const gm = await fetch(`${mock.url}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse&key=g`, {
      method: 'POST',
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'yo' }] }] }),
      headers: { 'x-mock-chunks': '3' },
    });
    const gmData = sseData(await gm.text()) as any[];
    expect(gmData).toHaveLength(3);
    expect(gmData.map((d) => d.candidates[0].content.parts[0].text).join('')).toBe(expectedReply('yo', { chunks: 3 }));
    expect(gmData[2].usageMetadata.totalTokenCount).toBeGreaterThan(0);
  });
});
