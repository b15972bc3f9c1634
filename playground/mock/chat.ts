// POST /v1/chat/completions — JSON and SSE, with n, tools, include_usage, max_tokens and reasoning models.
import type { Ctx, JsonObject } from './context.ts';
import { HttpError } from './context.ts';
import { DEFAULT_CHUNKS, pickOpenAITool, planReasoning, planText, replyText, splitEven, textOf, toolArguments } from './content.ts';
import { sendJson } from './respond.ts';
import { SSE_DONE, streamSse } from './sse.ts';
import { BoundedCache, estimateTokens, genId, intOr, nowSec, numOrNull, sha256Hex } from './util.ts';

/** Everything about a reply except its id/created, serialized once and cached per request body. */
interface CompiledChat {
  stream: boolean;
  includeUsage: boolean;
  modelJson: string;
  /** `,"model":...}` — completes `{"id":..,"object":..,"created":..` for the JSON answer. */
  jsonTail: string;
  /** Serialized `choices[0]` objects of each stream chunk, already interleaved by index. */
  streamChoices: string[];
  usageJson: string;
}

const compiledCache = new BoundedCache<CompiledChat>(256);

function usageObject(prompt: number, completion: number, reasoning: number): JsonObject {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function compile(body: JsonObject, chunks: number): CompiledChat {
  if (!Array.isArray(body.messages)) {
    throw new HttpError(400, "Missing required parameter: 'messages'.", { param: 'messages', code: 'missing_required_parameter' });
  }
  const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
  const messages = body.messages as unknown[];
  let chars = 0;
  let lastUser = '';
  for (const m of messages) {
    const msg = (m ?? {}) as { role?: unknown; content?: unknown };
    const t = textOf(msg.content);
    chars += t.length;
    if (msg.role === 'user' || msg.role === 'tool') lastUser = t;
  }
  // After tool results the model answers in text (unless a tool is forced), as a real one would.
  const last = messages[messages.length - 1] as { role?: unknown } | undefined;
  const forced = body.tool_choice === 'required' || (typeof body.tool_choice === 'object' && body.tool_choice !== null);
  const tool = last?.role === 'tool' && !forced ? null : pickOpenAITool(body.tools, body.tool_choice);
  const promptTokens = estimateTokens(chars) + 3 * messages.length + (tool ? estimateTokens(JSON.stringify(body.tools).length) : 0);
  const n = intOr(body.n, 1, 1, 128);
  const maxTokens = numOrNull(body.max_completion_tokens ?? body.max_tokens);
  const reasoning = /reasoning/i.test(model) ? planReasoning(lastUser, chunks) : null;
  const includeUsage = body.stream === true && body.stream_options?.include_usage === true;

  let completionTokens = 0;
  const choices: JsonObject[] = [];
  const perChoiceDeltas: JsonObject[][] = [];
  for (let i = 0; i < n; i++) {
    const deltas: JsonObject[] = [];
    const message: JsonObject = { role: 'assistant', content: null };
    if (reasoning) {
      message.reasoning_content = reasoning.text;
      completionTokens += reasoning.tokens;
    }
    let finish: string;
    if (tool) {
      const args = toolArguments(tool.parameters, lastUser);
      const id = `call_${sha256Hex(`${i}:${tool.name}:${args}`).slice(0, 24)}`;
      message.tool_calls = [{ id, type: 'function', function: { name: tool.name, arguments: args } }];
      finish = 'tool_calls';
      completionTokens += estimateTokens(args.length) + 5;
      deltas.push({ role: 'assistant', content: null, tool_calls: [{ index: 0, id, type: 'function', function: { name: tool.name, arguments: '' } }] });
      if (reasoning) for (const r of reasoning.chunks) deltas.push({ content: null, reasoning_content: r });
      for (const a of splitEven(args, chunks)) deltas.push({ tool_calls: [{ index: 0, function: { arguments: a } }] });
    } else {
      const plan = planText(replyText(lastUser, i), chunks, maxTokens);
      message.content = plan.text;
      finish = plan.truncated ? 'length' : 'stop';
      completionTokens += plan.tokens;
      deltas.push({ role: 'assistant', content: '', refusal: null });
      if (reasoning) for (const r of reasoning.chunks) deltas.push({ content: null, reasoning_content: r });
      for (const c of plan.chunks) deltas.push({ content: c });
    }
    message.refusal = null;
    message.annotations = [];
    choices.push({ index: i, message, logprobs: null, finish_reason: finish });
    const seq: JsonObject[] = deltas.map((d) => ({ index: i, delta: d, logprobs: null, finish_reason: null }));
    seq.push({ index: i, delta: {}, logprobs: null, finish_reason: finish });
    perChoiceDeltas.push(seq);
  }
  const usage = usageObject(promptTokens, completionTokens, reasoning ? reasoning.tokens * n : 0);
  const streamChoices: string[] = [];
  const longest = Math.max(...perChoiceDeltas.map((s) => s.length));
  for (let k = 0; k < longest; k++) {
    for (const s of perChoiceDeltas) if (k < s.length) streamChoices.push(JSON.stringify(s[k]));
  }
  const modelJson = JSON.stringify(model);
  const usageJson = JSON.stringify(usage);
  const jsonTail = `,"model":${modelJson},"choices":${JSON.stringify(choices)},"usage":${usageJson},"service_tier":"default","system_fingerprint":"fp_mock"}`;
  return { stream: body.stream === true, includeUsage, modelJson, jsonTail, streamChoices, usageJson };
}

function compileCached(ctx: Ctx, chunks: number): CompiledChat {
  if (ctx.body.length > 32768) return compile(ctx.json(), chunks);
  const key = `${chunks}|${ctx.body.toString('latin1')}`;
  return compiledCache.get(key) ?? compiledCache.set(key, compile(ctx.json(), chunks));
}

export function chatCompletionJson(c: CompiledChat, id: string, created: number): string {
  return `{"id":"${id}","object":"chat.completion","created":${created}${c.jsonTail}`;
}

/** Builds a chat.completion object for a request body (used by batches). */
export function chatCompletionObject(body: JsonObject): JsonObject {
  return JSON.parse(chatCompletionJson(compile(body, DEFAULT_CHUNKS), genId('chatcmpl-'), nowSec())) as JsonObject;
}

export async function chatCompletions(ctx: Ctx): Promise<void> {
  const chunks = ctx.knobs.chunks ?? DEFAULT_CHUNKS;
  const c = compileCached(ctx, chunks);
  const id = genId('chatcmpl-');
  const created = nowSec();
  if (!c.stream) return sendJson(ctx, 200, chatCompletionJson(c, id, created));
  const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${c.modelJson},"service_tier":"default","system_fingerprint":"fp_mock","choices":[`;
  const tail = c.includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  const parts = new Array<string>(c.streamChoices.length);
  for (let i = 0; i < parts.length; i++) parts[i] = head + c.streamChoices[i] + tail;
  if (c.includeUsage) parts.push(`${head}],"usage":${c.usageJson}}\n\n`);
  parts.push(SSE_DONE);
  return streamSse(ctx, parts);
}
