// OpenAI endpoints other than chat: legacy completions, embeddings, models, moderations.
import type { Ctx, JsonObject } from './context.ts';
import { HttpError } from './context.ts';
import { DEFAULT_CHUNKS, planText, replyText } from './content.ts';
import { dimensionsFor, embeddingVector } from './embeddings.ts';
import { sendError, sendJson } from './respond.ts';
import { SSE_DONE, sseData, streamSse } from './sse.ts';
import { estimateTokens, genId, intOr, nowSec, numOrNull } from './util.ts';

// ---------- POST /v1/completions ----------

function promptsOf(prompt: unknown): string[] {
  if (typeof prompt === 'string') return [prompt];
  if (Array.isArray(prompt)) {
    if (prompt.every((p) => typeof p === 'number')) return [prompt.join(' ')];
    return prompt.map((p) => (typeof p === 'string' ? p : Array.isArray(p) ? p.join(' ') : String(p)));
  }
  return [''];
}

export async function completions(ctx: Ctx): Promise<void> {
  const body = ctx.json();
  const model = typeof body.model === 'string' ? body.model : 'gpt-3.5-turbo-instruct';
  const chunks = ctx.knobs.chunks ?? DEFAULT_CHUNKS;
  const prompts = promptsOf(body.prompt);
  const n = intOr(body.n, 1, 1, 128);
  const maxTokens = numOrNull(body.max_tokens) ?? 16 * chunks;
  const id = genId('cmpl-');
  const created = nowSec();
  let completion = 0;
  const plans = [];
  for (const p of prompts) {
    for (let j = 0; j < n; j++) {
      const plan = planText(replyText(p, j), chunks, maxTokens);
      completion += plan.tokens;
      plans.push(plan);
    }
  }
  const promptTokens = prompts.reduce((a, p) => a + estimateTokens(p.length), 0);
  const usage = { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
  if (body.stream !== true) {
    return sendJson(ctx, 200, {
      id,
      object: 'text_completion',
      created,
      model,
      choices: plans.map((p, index) => ({ text: p.text, index, logprobs: null, finish_reason: p.truncated ? 'length' : 'stop' })),
      usage,
      system_fingerprint: 'fp_mock',
    });
  }
  const parts: string[] = [];
  const head = { id, object: 'text_completion', created, model, system_fingerprint: 'fp_mock' };
  const longest = Math.max(...plans.map((p) => p.chunks.length));
  for (let k = 0; k <= longest; k++) {
    plans.forEach((p, index) => {
      if (k < p.chunks.length) parts.push(sseData({ ...head, choices: [{ text: p.chunks[k], index, logprobs: null, finish_reason: null }] }));
      else if (k === p.chunks.length) parts.push(sseData({ ...head, choices: [{ text: '', index, logprobs: null, finish_reason: p.truncated ? 'length' : 'stop' }] }));
    });
  }
  if (body.stream_options?.include_usage === true) parts.push(sseData({ ...head, choices: [], usage }));
  parts.push(SSE_DONE);
  return streamSse(ctx, parts);
}

// ---------- POST /v1/embeddings ----------

function inputsOf(input: unknown): string[] {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input)) {
    if (input.length && input.every((x) => typeof x === 'number')) return [input.join(' ')];
    return input.map((x) => (typeof x === 'string' ? x : Array.isArray(x) ? x.join(' ') : String(x)));
  }
  throw new HttpError(400, "'input' is a required property", { param: 'input' });
}

/** Serialized embeddings response (string, to avoid re-stringifying cached vectors). */
export function embeddingsJson(body: JsonObject): string {
  const model = typeof body.model === 'string' ? body.model : 'text-embedding-3-small';
  const inputs = inputsOf(body.input);
  const dims = intOr(body.dimensions, dimensionsFor(model), 1, 8192);
  const b64 = body.encoding_format === 'base64';
  const items = inputs.map((text, i) => {
    const v = embeddingVector(model, text, dims);
    return `{"object":"embedding","index":${i},"embedding":${b64 ? JSON.stringify(v.base64) : v.json}}`;
  });
  const tokens = inputs.reduce((a, t) => a + estimateTokens(t.length), 0);
  return `{"object":"list","data":[${items.join(',')}],"model":${JSON.stringify(model)},"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`;
}

export async function embeddings(ctx: Ctx): Promise<void> {
  sendJson(ctx, 200, embeddingsJson(ctx.json()));
}

// ---------- GET /v1/models, /v1/models/:id ----------

export const MODELS: { id: string; created: number; owned_by: string }[] = [
  { id: 'gpt-4o', created: 1715367049, owned_by: 'system' },
  { id: 'gpt-4o-mini', created: 1721172741, owned_by: 'system' },
  { id: 'gpt-4.1', created: 1744316542, owned_by: 'system' },
  { id: 'gpt-3.5-turbo', created: 1677610602, owned_by: 'openai' },
  { id: 'gpt-3.5-turbo-instruct', created: 1692901427, owned_by: 'system' },
  { id: 'o3-mini', created: 1737146383, owned_by: 'system' },
  { id: 'mock-reasoning', created: 1737146383, owned_by: 'mock' },
  { id: 'text-embedding-3-small', created: 1705948997, owned_by: 'system' },
  { id: 'text-embedding-3-large', created: 1705953180, owned_by: 'system' },
  { id: 'whisper-1', created: 1677532384, owned_by: 'openai-internal' },
  { id: 'tts-1', created: 1681940951, owned_by: 'openai-internal' },
  { id: 'dall-e-3', created: 1698785189, owned_by: 'system' },
  { id: 'omni-moderation-latest', created: 1731689265, owned_by: 'system' },
];

export async function listModels(ctx: Ctx): Promise<void> {
  sendJson(ctx, 200, { object: 'list', data: MODELS.map((m) => ({ id: m.id, object: 'model', created: m.created, owned_by: m.owned_by })) });
}

export async function getModel(ctx: Ctx): Promise<void> {
  const id = decodeURIComponent(ctx.params[0]);
  const m = MODELS.find((x) => x.id === id);
  if (!m) return sendError(ctx, 404, `The model '${id}' does not exist`, { param: 'model', code: 'model_not_found' });
  sendJson(ctx, 200, { id: m.id, object: 'model', created: m.created, owned_by: m.owned_by });
}

// ---------- POST /v1/moderations ----------

const CATEGORIES = [
  'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent',
  'self-harm', 'self-harm/intent', 'self-harm/instructions', 'sexual', 'sexual/minors', 'violence', 'violence/graphic',
];

export async function moderations(ctx: Ctx): Promise<void> {
  const body = ctx.json();
  const inputs: string[] = Array.isArray(body.input)
    ? body.input.map((x: unknown) => (typeof x === 'string' ? x : typeof (x as { text?: unknown })?.text === 'string' ? (x as { text: string }).text : ''))
    : [typeof body.input === 'string' ? body.input : ''];
  const results = inputs.map((text) => {
    const flagged = /flag-me|\bkill\b/i.test(text);
    const categories: Record<string, boolean> = {};
    const scores: Record<string, number> = {};
    for (const c of CATEGORIES) {
      categories[c] = flagged && c === 'violence';
      scores[c] = flagged && c === 'violence' ? 0.9321 : 0.0001;
    }
    return { flagged, categories, category_scores: scores };
  });
  sendJson(ctx, 200, { id: genId('modr-'), model: typeof body.model === 'string' ? body.model : 'omni-moderation-latest', results });
}
