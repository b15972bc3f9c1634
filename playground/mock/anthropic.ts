// POST /v1/messages — Anthropic Messages API, JSON and SSE (text, thinking and tool_use blocks).
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

export async function messages(ctx: Ctx): Promise<void> {
  const body = ctx.json();
  if (!Array.isArray(body.messages)) {
    throw new HttpError(400, 'messages: Field required', { type: 'invalid_request_error' });
  }
  const chunks = ctx.knobs.chunks ?? DEFAULT_CHUNKS;
  const model = typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5';
  let chars = textOf(body.system).length;
  let last = '';
  for (const m of body.messages as { role?: unknown; content?: unknown }[]) {
    const t = textOf(m?.content);
    chars += t.length;
    if (m?.role === 'user') last = t;
  }
  const inputTokens = estimateTokens(chars) + 3 * body.messages.length;
  const maxTokens = numOrNull(body.max_tokens);
  const tool = pickTool(body.tools, body.tool_choice);
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
  const usage = {
    input_tokens: inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
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
  blocks.forEach((b, index) => {
    parts.push(sseEvent('content_block_start', { type: 'content_block_start', index, content_block: b.start }));
    if (index === 0) parts.push(sseEvent('ping', { type: 'ping' }));
    for (const delta of b.deltas) parts.push(sseEvent('content_block_delta', { type: 'content_block_delta', index, delta }));
    parts.push(sseEvent('content_block_stop', { type: 'content_block_stop', index }));
  });
  parts.push(
    sseEvent('message_delta', { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: outputTokens } }),
    sseEvent('message_stop', { type: 'message_stop' }),
  );
  return streamSse(ctx, parts);
}
