// POST /v1/messages — Anthropic Messages API, JSON and SSE (text, thinking and tool_use blocks), checked
// as strictly as the real API checks a request; GET /v1/models (with anthropic-version).
import type { Ctx, JsonObject } from './context.ts';
import { HttpError } from './context.ts';
import { DEFAULT_CHUNKS, planReasoning, planText, replyText, splitEven, textOf, toolArguments } from './content.ts';
import { sendJson } from './respond.ts';
import { sseEvent, streamSse } from './sse.ts';
import { estimateTokens, genId, numOrNull, sha256Hex } from './util.ts';

function pickTool(tools: unknown, choice: unknown): { name: string; schema: unknown } | null {
  if (!Array.isArray(tools) || !tools.length) return null;
  const c = (choice ?? {}) as { type?: unknown; name?: unknown };
  if (c.type === 'none') return null;
  const list = tools.filter((t) => t && typeof t.name === 'string') as { name: string; input_schema?: unknown }[];
  if (!list.length) return null;
  const t = (c.type === 'tool' ? list.find((x) => x.name === c.name) : undefined) ?? list[0];
  return { name: t.name, schema: t.input_schema };
}

// Top-level fields the Messages API takes; any other is refused, as Anthropic does.
const FIELDS = new Set([
  'model', 'messages', 'max_tokens', 'system', 'stream', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'tools',
  'tool_choice', 'metadata', 'thinking', 'service_tier', 'container', 'mcp_servers', 'context_management',
]);
const USER_BLOCKS = new Set(['text', 'image', 'document', 'tool_result', 'search_result']);
const ASSISTANT_BLOCKS = new Set(['text', 'tool_use', 'thinking', 'redacted_thinking', 'server_tool_use', 'web_search_tool_result']);
const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

function bad(message: string): HttpError {
  return new HttpError(400, message, { type: 'invalid_request_error' });
}

/** Refuses what the real API refuses (field names and messages as Anthropic words them). */
function validate(body: JsonObject): void {
  for (const name of Object.keys(body)) if (!FIELDS.has(name)) throw bad(`${name}: Extra inputs are not permitted`);
  if (typeof body.model !== 'string') throw bad('model: Field required');
  if (body.max_tokens === undefined) throw bad('max_tokens: Field required');
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) throw bad('max_tokens: Input should be a valid integer greater than or equal to 1');
  if (!Array.isArray(body.messages)) throw bad('messages: Field required');
  if (typeof body.temperature === 'number' && (body.temperature < 0 || body.temperature > 1)) throw bad('temperature: Input should be less than or equal to 1');
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) throw bad('system: Input should be a valid string or list');
  if (body.stop_sequences !== undefined && !Array.isArray(body.stop_sequences)) throw bad('stop_sequences: Input should be a valid list');
  if (body.thinking !== undefined) {
    if (body.thinking?.type === 'enabled') {
      if (!(body.thinking.budget_tokens >= 1024)) throw bad('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
      if (body.thinking.budget_tokens >= body.max_tokens) throw bad('`max_tokens` must be greater than `thinking.budget_tokens`');
    } else if (body.thinking?.type !== 'disabled') throw bad("thinking: Input tag does not match any of the expected tags: 'enabled', 'disabled'");
  }
  (Array.isArray(body.tools) ? body.tools : []).forEach((t: JsonObject, i: number) => {
    if (typeof t?.name !== 'string') throw bad(`tools.${i}.name: Field required`);
    if (t.type === undefined && typeof t.input_schema !== 'object') throw bad(`tools.${i}.custom.input_schema: Field required`);
  });
  let pendingToolUse: string[] = [];
  (body.messages as JsonObject[]).forEach((m, i) => {
    if (m?.role !== 'user' && m?.role !== 'assistant') throw bad(`messages.${i}.role: Input should 'user' or 'assistant'`);
    const blocks = typeof m.content === 'string' ? [] : m.content;
    if (!Array.isArray(blocks)) throw bad(`messages.${i}.content: Input should be a valid list`);
    const allowed = m.role === 'user' ? USER_BLOCKS : ASSISTANT_BLOCKS;
    const results = new Set<string>();
    blocks.forEach((b: JsonObject, j: number) => {
      if (!allowed.has(b?.type)) throw bad(`messages.${i}.content.${j}.type: Input tag '${b?.type}' found using 'type' does not match any of the expected tags`);
      if (b.type === 'image') {
        const src = b.source ?? {};
        if (src.type === 'base64') {
          if (!IMAGE_TYPES.has(src.media_type)) throw bad(`messages.${i}.content.${j}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`);
          if (typeof src.data !== 'string' || !src.data) throw bad(`messages.${i}.content.${j}.image.source.base64.data: Field required`);
        } else if (src.type === 'url') {
          if (typeof src.url !== 'string') throw bad(`messages.${i}.content.${j}.image.source.url.url: Field required`);
        } else throw bad(`messages.${i}.content.${j}.image.source: Input tag does not match any of the expected tags: 'base64', 'url'`);
      }
      if (b.type === 'tool_result') results.add(b.tool_use_id);
      if (b.type === 'tool_use' && (typeof b.id !== 'string' || typeof b.input !== 'object' || b.input === null)) throw bad(`messages.${i}.content.${j}.tool_use.input: Input should be a valid dictionary`);
    });
    const missing = pendingToolUse.filter((id) => !results.has(id));
    if (missing.length) throw bad(`messages.${i - 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`);
    pendingToolUse = m.role === 'assistant' ? blocks.filter((b: JsonObject) => b.type === 'tool_use').map((b: JsonObject) => b.id) : [];
  });
}

/** The text a turn carries: its text blocks, or the content of its tool results. */
function turnText(content: unknown): { text: string; toolResult: boolean } {
  if (!Array.isArray(content)) return { text: textOf(content), toolResult: false };
  const results = content.filter((b) => b?.type === 'tool_result');
  if (results.length) return { text: results.map((b) => textOf(b.content)).join(' '), toolResult: true };
  return { text: textOf(content), toolResult: false };
}

export const ANTHROPIC_MODELS = [
  { id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
  { id: 'claude-opus-4-1-20250805', display_name: 'Claude Opus 4.1', created_at: '2025-08-05T00:00:00Z' },
  { id: 'claude-3-5-haiku-20241022', display_name: 'Claude Haiku 3.5', created_at: '2024-10-22T00:00:00Z' },
];

/** GET /v1/models (with `anthropic-version`): Anthropic's paged list. */
export async function anthropicModels(ctx: Ctx): Promise<void> {
  const data = ANTHROPIC_MODELS.map((m) => ({ type: 'model', ...m }));
  sendJson(ctx, 200, { data, has_more: false, first_id: data[0].id, last_id: data[data.length - 1].id });
}

/** GET /v1/models/{id} (with `anthropic-version`). */
export async function anthropicModel(ctx: Ctx): Promise<void> {
  const id = decodeURIComponent(ctx.params[0]);
  const m = ANTHROPIC_MODELS.find((x) => x.id === id);
  if (!m) throw new HttpError(404, `model: ${id}`, { type: 'not_found_error' });
  sendJson(ctx, 200, { type: 'model', ...m });
}

export async function messages(ctx: Ctx): Promise<void> {
  const body = ctx.json();
  validate(body);
  const chunks = ctx.knobs.chunks ?? DEFAULT_CHUNKS;
  const model = typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5';
  let chars = textOf(body.system).length;
  let last = '';
  let answersTool = false;
  for (const m of body.messages as { role?: unknown; content?: unknown }[]) {
    const t = turnText(m?.content);
    chars += t.text.length;
    if (m?.role === 'user') [last, answersTool] = [t.text, t.toolResult];
  }
  const inputTokens = estimateTokens(chars) + 3 * body.messages.length;
  const maxTokens = numOrNull(body.max_tokens);
  // After a tool result the model answers in text (unless a tool is forced), as a real one would.
  const tool = answersTool && body.tool_choice?.type !== 'tool' && body.tool_choice?.type !== 'any' ? null : pickTool(body.tools, body.tool_choice);
  const thinking = body.thinking?.type === 'enabled' || /reasoning/i.test(model) ? planReasoning(last, chunks) : null;
  const id = genId('msg_');

  const content: JsonObject[] = [];
  const blocks: { start: JsonObject; deltas: JsonObject[] }[] = [];
  let outputTokens = 0;
  let stop = 'end_turn';
  if (thinking) {
    const signature = Buffer.from(sha256Hex(thinking.text)).toString('base64');
    content.push({ type: 'thinking', thinking: thinking.text, signature });
    blocks.push({
      start: { type: 'thinking', thinking: '', signature: '' },
      deltas: [...thinking.chunks.map((t) => ({ type: 'thinking_delta', thinking: t })), { type: 'signature_delta', signature }],
    });
    outputTokens += thinking.tokens;
  }
  if (tool) {
    const args = toolArguments(tool.schema, last);
    const tid = `toolu_${sha256Hex(`${tool.name}:${args}`).slice(0, 24)}`;
    content.push({ type: 'tool_use', id: tid, name: tool.name, input: JSON.parse(args) });
    blocks.push({
      start: { type: 'tool_use', id: tid, name: tool.name, input: {} },
      deltas: splitEven(args, chunks).map((p) => ({ type: 'input_json_delta', partial_json: p })),
    });
    outputTokens += estimateTokens(args.length) + 5;
    stop = 'tool_use';
  } else {
    const plan = planText(replyText(last), chunks, maxTokens);
    content.push({ type: 'text', text: plan.text });
    blocks.push({ start: { type: 'text', text: '' }, deltas: plan.chunks.map((t) => ({ type: 'text_delta', text: t })) });
    outputTokens += plan.tokens;
    if (plan.truncated) stop = 'max_tokens';
  }
  const cached = Math.min(ctx.knobs.cachedTokens, inputTokens);
  const usage = {
    input_tokens: inputTokens - cached,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
  if (body.stream !== true) {
    return sendJson(ctx, 200, { id, type: 'message', role: 'assistant', model, content, stop_reason: stop, stop_sequence: null, usage });
  }
  const parts: string[] = [
    sseEvent('message_start', {
      type: 'message_start',
      message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } },
    }),
  ];
  for (const [index, b] of blocks.entries()) {
    parts.push(sseEvent('content_block_start', { type: 'content_block_start', index, content_block: b.start }));
    if (index === 0) parts.push(sseEvent('ping', { type: 'ping' }));
    for (const delta of b.deltas) {
      parts.push(sseEvent('content_block_delta', { type: 'content_block_delta', index, delta }));
      if (ctx.knobs.streamError) {
        // An error mid-stream (e.g. overloaded_error), as Anthropic sends it: an `error` event, then the end.
        parts.push(sseEvent('error', { type: 'error', error: { type: ctx.knobs.streamError, message: ctx.knobs.streamError === 'overloaded_error' ? 'Overloaded' : `Mock stream error (${ctx.knobs.streamError})` } }));
        return streamSse(ctx, parts);
      }
    }
    parts.push(sseEvent('content_block_stop', { type: 'content_block_stop', index }));
  }
  parts.push(
    sseEvent('message_delta', { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: outputTokens } }),
    sseEvent('message_stop', { type: 'message_stop' }),
  );
  return streamSse(ctx, parts);
}
