// Gemini: POST /v1beta/models/{model}:generateContent | :streamGenerateContent[?alt=sse] | :countTokens | :embedContent
import type { Ctx, JsonObject } from './context.ts';
import { HttpError } from './context.ts';
import { DEFAULT_CHUNKS, planReasoning, planText, replyText, textOf, toolArguments } from './content.ts';
import { embeddingVector } from './embeddings.ts';
import { baseHeaders, sendJson } from './respond.ts';
import { sseHeaders, streamParts } from './sse.ts';
import { estimateTokens, genId, intOr, numOrNull } from './util.ts';

function partsText(content: unknown): string {
  const parts = (content as { parts?: unknown } | null)?.parts;
  return textOf(parts);
}

// What the real API accepts (camelCase and snake_case alike); anything else is refused as Gemini words it.
const FIELDS = new Set(['contents', 'systemInstruction', 'system_instruction', 'tools', 'toolConfig', 'tool_config', 'generationConfig', 'generation_config', 'safetySettings', 'safety_settings', 'cachedContent', 'cached_content', 'model']);
const GENERATION_FIELDS = new Set([
  'temperature', 'topP', 'topK', 'candidateCount', 'maxOutputTokens', 'stopSequences', 'presencePenalty', 'frequencyPenalty', 'seed',
  'responseMimeType', 'responseSchema', 'responseJsonSchema', 'thinkingConfig', 'responseLogprobs', 'logprobs', 'responseModalities', 'speechConfig', 'mediaResolution',
]);
const PART_FIELDS = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult'];

function bad(message: string): HttpError {
  return new HttpError(400, message);
}

/** Refuses what the real API refuses (its wording). */
function validate(body: JsonObject): void {
  for (const name of Object.keys(body)) if (!FIELDS.has(name)) throw bad(`Invalid JSON payload received. Unknown name "${name}": Cannot find field.`);
  for (const name of Object.keys(body.generationConfig ?? {})) if (!GENERATION_FIELDS.has(name)) throw bad(`Invalid JSON payload received. Unknown name "${name}" at 'generation_config': Cannot find field.`);
  (body.contents as JsonObject[]).forEach((c, i) => {
    if (c?.role !== undefined && c.role !== 'user' && c.role !== 'model') throw bad('Please use a valid role: user, model.');
    if (!Array.isArray(c?.parts) || c.parts.length === 0) throw bad(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`);
    c.parts.forEach((p: JsonObject, j: number) => {
      const data = PART_FIELDS.filter((f) => p?.[f] !== undefined);
      if (data.length !== 1) throw bad(`* GenerateContentRequest.contents[${i}].parts[${j}].data: required oneof field 'data' must have one initialized field`);
      if (p.inlineData && (typeof p.inlineData.mimeType !== 'string' || typeof p.inlineData.data !== 'string')) throw bad(`* GenerateContentRequest.contents[${i}].parts[${j}].inline_data: mime_type and data are required`);
      if (p.fileData && typeof p.fileData.fileUri !== 'string') throw bad(`* GenerateContentRequest.contents[${i}].parts[${j}].file_data.file_uri: file_uri is required`);
      if (p.functionResponse && (typeof p.functionResponse.name !== 'string' || typeof p.functionResponse.response !== 'object')) throw bad(`* GenerateContentRequest.contents[${i}].parts[${j}].function_response: name and response are required`);
    });
  });
  for (const t of (Array.isArray(body.tools) ? body.tools : []) as JsonObject[]) {
    for (const [k, d] of ((t?.functionDeclarations ?? []) as JsonObject[]).entries()) {
      if (typeof d?.name !== 'string') throw bad(`* GenerateContentRequest.tools[0].function_declarations[${k}].name: Name cannot be empty.`);
      if (d.parameters !== undefined && d.parametersJsonSchema !== undefined) throw bad(`* GenerateContentRequest.tools[0].function_declarations[${k}]: parameters and parameters_json_schema cannot both be set`);
    }
  }
}

/** The text a user turn carries: its text parts, or its function responses. */
function turnText(content: JsonObject): { text: string; answersFunction: boolean } {
  const responses = (Array.isArray(content?.parts) ? content.parts : []).filter((p: JsonObject) => p?.functionResponse);
  if (responses.length) return { text: responses.map((p: JsonObject) => { const r = p.functionResponse.response; return typeof r?.content === 'string' ? r.content : JSON.stringify(r); }).join(' '), answersFunction: true };
  return { text: partsText(content), answersFunction: false };
}

function analyse(body: JsonObject): { last: string; answersFunction: boolean; promptTokens: number } {
  if (!Array.isArray(body.contents)) throw new HttpError(400, '* GenerateContentRequest.contents: contents is not specified');
  let chars = partsText(body.systemInstruction ?? body.system_instruction).length;
  let last = '';
  let answersFunction = false;
  for (const c of body.contents as JsonObject[]) {
    const t = turnText(c);
    chars += t.text.length;
    if (c?.role === undefined || c?.role === 'user') [last, answersFunction] = [t.text, t.answersFunction];
  }
  return { last, answersFunction, promptTokens: estimateTokens(chars) + 1 };
}

export const GEMINI_MODELS = [
  { name: 'models/gemini-2.5-flash', displayName: 'Gemini 2.5 Flash', inputTokenLimit: 1048576, outputTokenLimit: 65536 },
  { name: 'models/gemini-2.5-pro', displayName: 'Gemini 2.5 Pro', inputTokenLimit: 1048576, outputTokenLimit: 65536 },
  { name: 'models/text-embedding-004', displayName: 'Text Embedding 004', inputTokenLimit: 2048, outputTokenLimit: 1 },
];

const modelEntry = (m: (typeof GEMINI_MODELS)[number]) => ({ ...m, version: '001', description: m.displayName, supportedGenerationMethods: m.name.includes('embedding') ? ['embedContent'] : ['generateContent', 'countTokens'] });

/** GET /v1beta/models */
export async function geminiModels(ctx: Ctx): Promise<void> {
  sendJson(ctx, 200, { models: GEMINI_MODELS.map(modelEntry) });
}

/** GET /v1beta/models/{id} */
export async function geminiModel(ctx: Ctx): Promise<void> {
  const id = decodeURIComponent(ctx.params[0]);
  const m = GEMINI_MODELS.find((x) => x.name === `models/${id}`);
  if (!m) throw new HttpError(404, `models/${id} is not found for API version v1beta, or is not supported for generateContent.`);
  sendJson(ctx, 200, modelEntry(m));
}

function pickFunction(body: JsonObject): { name: string; parameters: unknown } | null {
  if (!Array.isArray(body.tools)) return null;
  const mode = body.toolConfig?.functionCallingConfig?.mode ?? body.tool_config?.function_calling_config?.mode;
  if (mode === 'NONE') return null;
  for (const t of body.tools as JsonObject[]) {
    const decls = t?.functionDeclarations ?? t?.function_declarations;
    if (Array.isArray(decls) && decls.length && typeof decls[0].name === 'string') {
      return { name: decls[0].name, parameters: decls[0].parameters ?? decls[0].parametersJsonSchema };
    }
  }
  return null;
}

export async function gemini(ctx: Ctx): Promise<void> {
  const model = decodeURIComponent(ctx.params[0]);
  const action = ctx.params[1];
  const body = ctx.json();
  if (action === 'countTokens') {
    const { promptTokens } = analyse(body.generateContentRequest ?? body);
    return sendJson(ctx, 200, { totalTokens: promptTokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }] });
  }
  if (action === 'embedContent') {
    const text = partsText(body.content);
    const dims = intOr(body.outputDimensionality, 768, 1, 8192);
    return sendJson(ctx, 200, `{"embedding":{"values":${embeddingVector(model, text, dims).json}}}`);
  }
  const chunks = ctx.knobs.chunks ?? DEFAULT_CHUNKS;
  const { last, answersFunction, promptTokens } = analyse(body);
  validate(body);
  const candidateCount = intOr(body.generationConfig?.candidateCount, 1, 1, 8);
  const maxTokens = numOrNull(body.generationConfig?.maxOutputTokens);
  // After a function response the model answers in text (unless calling is forced), as a real one would.
  const forced = (body.toolConfig?.functionCallingConfig?.mode ?? body.tool_config?.function_calling_config?.mode) === 'ANY';
  const fn = answersFunction && !forced ? null : pickFunction(body);
  const thinking = body.generationConfig?.thinkingConfig?.includeThoughts === true ? planReasoning(last, chunks) : null;
  const responseId = genId('');
  const base = { modelVersion: model, responseId };

  // One entry per stream chunk: the parts of each candidate in that chunk.
  const plans = [];
  let outTokens = 0;
  for (let i = 0; i < candidateCount; i++) {
    if (fn) {
      const args = JSON.parse(toolArguments(fn.parameters, last)) as JsonObject;
      outTokens += 8;
      plans.push({ chunks: [[{ functionCall: { name: fn.name, args } }]], full: [{ functionCall: { name: fn.name, args } }], finish: 'STOP' });
    } else {
      const p = planText(replyText(last, i), chunks, maxTokens);
      outTokens += p.tokens;
      const thought = thinking ? [{ text: thinking.text, thought: true }] : [];
      plans.push({
        chunks: [...(thinking ? thinking.chunks.map((t) => [{ text: t, thought: true }]) : []), ...p.chunks.map((t) => [{ text: t }])],
        full: [...thought, { text: p.text }],
        finish: ctx.knobs.finishReason ?? (p.truncated ? 'MAX_TOKENS' : 'STOP'),
      });
    }
  }
  const thoughts = thinking ? thinking.tokens * candidateCount : 0;
  const cached = Math.min(ctx.knobs.cachedTokens, promptTokens);
  const usage = {
    promptTokenCount: promptTokens,
    candidatesTokenCount: outTokens,
    totalTokenCount: promptTokens + outTokens + thoughts,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }],
    ...(thoughts ? { thoughtsTokenCount: thoughts } : {}),
    ...(cached ? { cachedContentTokenCount: cached } : {}),
  };
  if (action === 'generateContent') {
    return sendJson(ctx, 200, {
      candidates: plans.map((p, index) => ({ content: { parts: p.full, role: 'model' }, finishReason: p.finish, index })),
      usageMetadata: usage,
      ...base,
    });
  }
  // streamGenerateContent
  const longest = Math.max(...plans.map((p) => p.chunks.length));
  const objs: JsonObject[] = [];
  for (let k = 0; k < longest; k++) {
    const lastChunk = k === longest - 1;
    const candidates = plans
      .map((p, index) =>
        k < p.chunks.length
          ? { content: { parts: p.chunks[k], role: 'model' }, ...(k === p.chunks.length - 1 ? { finishReason: p.finish } : {}), index }
          : null,
      )
      .filter((c) => c !== null);
    objs.push({
      candidates,
      usageMetadata: lastChunk ? usage : { promptTokenCount: promptTokens, totalTokenCount: promptTokens },
      ...base,
    });
  }
  if (ctx.query.get('alt') === 'sse') {
    const events = objs.map((o) => `data: ${JSON.stringify(o)}\r\n\r\n`);
    if (ctx.knobs.streamError) {
      // An error after the first chunk, as Gemini reports one in a stream: a data event with `error`.
      const error = { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: ctx.knobs.streamError } };
      return streamParts(ctx, 200, sseHeaders(ctx), [events[0], `data: ${JSON.stringify(error)}\r\n\r\n`]);
    }
    return streamParts(ctx, 200, sseHeaders(ctx), events);
  }
  // Without alt=sse Gemini streams one JSON array, element by element.
  const parts = objs.map((o, i) => `${i === 0 ? '[' : ',\r\n'}${JSON.stringify(o)}`);
  parts.push(']');
  return streamParts(ctx, 200, baseHeaders(ctx, { 'content-type': 'application/json; charset=UTF-8' }), parts);
}
