// POST /v1/responses — Responses API, JSON and typed SSE events (message or function_call output).
import type { Ctx, JsonObject } from './context.ts';
import { DEFAULT_CHUNKS, pickOpenAITool, planText, replyText, splitEven, textOf, toolArguments } from './content.ts';
import { sendJson } from './respond.ts';
import { sseEvent, streamSse } from './sse.ts';
import { estimateTokens, genId, nowSec, numOrNull, sha256Hex } from './util.ts';

function lastUserText(input: unknown): { last: string; chars: number } {
  if (typeof input === 'string') return { last: input, chars: input.length };
  let last = '';
  let chars = 0;
  if (Array.isArray(input)) {
    for (const item of input) {
      const it = (item ?? {}) as { role?: unknown; content?: unknown; type?: unknown };
      const t = textOf(it.content);
      chars += t.length;
      if (it.role === 'user') last = t;
    }
  }
  return { last, chars };
}

export async function responses(ctx: Ctx): Promise<void> {
  const body = ctx.json();
  const chunks = ctx.knobs.chunks ?? DEFAULT_CHUNKS;
  const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
  const { last, chars } = lastUserText(body.input);
  const instructions = typeof body.instructions === 'string' ? body.instructions : null;
  const maxOut = numOrNull(body.max_output_tokens);
  const tool = pickOpenAITool(body.tools, body.tool_choice);
  const id = genId('resp_');
  const itemId = genId(tool ? 'fc_' : 'msg_');
  const createdAt = nowSec();
  const inputTokens = estimateTokens(chars + (instructions?.length ?? 0)) + 3;

  let outputTokens: number;
  let truncated = false;
  let deltas: string[];
  let doneItem: JsonObject;
  let args = '';
  if (tool) {
    args = toolArguments(tool.parameters, last);
    deltas = splitEven(args, chunks);
    outputTokens = estimateTokens(args.length) + 5;
    doneItem = {
      id: itemId,
      type: 'function_call',
      status: 'completed',
      arguments: args,
      call_id: `call_${sha256Hex(`${tool.name}:${args}`).slice(0, 24)}`,
      name: tool.name,
    };
  } else {
    const plan = planText(replyText(last), chunks, maxOut);
    deltas = plan.chunks;
    outputTokens = plan.tokens;
    truncated = plan.truncated;
    doneItem = {
      id: itemId,
      type: 'message',
      status: truncated ? 'incomplete' : 'completed',
      content: [{ type: 'output_text', annotations: [], logprobs: [], text: plan.text }],
      role: 'assistant',
    };
  }
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
  const response = (status: string, output: JsonObject[], withUsage: boolean): JsonObject => ({
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions,
    max_output_tokens: maxOut,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: typeof body.previous_response_id === 'string' ? body.previous_response_id : null,
    reasoning: { effort: null, summary: null },
    store: body.store !== false,
    temperature: numOrNull(body.temperature) ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: Array.isArray(body.tools) ? body.tools : [],
    top_p: numOrNull(body.top_p) ?? 1,
    truncation: 'disabled',
    usage: withUsage ? usage : null,
    user: null,
    metadata: body.metadata ?? {},
  });
  const finalStatus = truncated ? 'incomplete' : 'completed';
  if (body.stream !== true) return sendJson(ctx, 200, response(finalStatus, [doneItem], true));

  let seq = 0;
  const parts: string[] = [];
  const ev = (type: string, payload: JsonObject): void => {
    parts.push(sseEvent(type, { type, sequence_number: seq++, ...payload }));
  };
  ev('response.created', { response: response('in_progress', [], false) });
  ev('response.in_progress', { response: response('in_progress', [], false) });
  if (tool) {
    ev('response.output_item.added', { output_index: 0, item: { ...doneItem, status: 'in_progress', arguments: '' } });
    for (const d of deltas) ev('response.function_call_arguments.delta', { item_id: itemId, output_index: 0, delta: d });
    ev('response.function_call_arguments.done', { item_id: itemId, output_index: 0, arguments: args });
  } else {
    const text = deltas.join('');
    ev('response.output_item.added', { output_index: 0, item: { id: itemId, type: 'message', status: 'in_progress', content: [], role: 'assistant' } });
    ev('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } });
    for (const d of deltas) ev('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta: d, logprobs: [] });
    ev('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] });
    ev('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text } });
  }
  ev('response.output_item.done', { output_index: 0, item: doneItem });
  ev(truncated ? 'response.incomplete' : 'response.completed', { response: response(finalStatus, [doneItem], true) });
  return streamSse(ctx, parts);
}
