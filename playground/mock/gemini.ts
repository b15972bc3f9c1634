// Gemini: POST /v1beta/models/{model}:generateContent | :streamGenerateContent[?alt=sse] | :countTokens | :embedContent
import type { Ctx, JsonObject } from './context.ts';
import { HttpError } from './context.ts';
import { DEFAULT_CHUNKS, planText, replyText, textOf, toolArguments } from './content.ts';
import { embeddingVector } from './embeddings.ts';
import { baseHeaders, sendJson } from './respond.ts';
import { sseHeaders, streamParts } from './sse.ts';
import { estimateTokens, genId, intOr, numOrNull } from './util.ts';

function partsText(content: unknown): string {
  const parts = (content as { parts?: unknown } | null)?.parts;
  return textOf(parts);
}

function analyse(body: JsonObject): { last: string; promptTokens: number } {
  if (!Array.isArray(body.contents)) throw new HttpError(400, '* GenerateContentRequest.contents: contents is not specified');
  let chars = partsText(body.systemInstruction ?? body.system_instruction).length;
  let last = '';
  for (const c of body.contents as { role?: unknown; parts?: unknown }[]) {
    const t = partsText(c);
    chars += t.length;
    if (c?.role === undefined || c?.role === 'user') last = t;
  }
  return { last, promptTokens: estimateTokens(chars) + 1 };
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
  const { last, promptTokens } = analyse(body);
  const candidateCount = intOr(body.generationConfig?.candidateCount, 1, 1, 8);
  const maxTokens = numOrNull(body.generationConfig?.maxOutputTokens);
  const fn = pickFunction(body);
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
      plans.push({ chunks: p.chunks.map((t) => [{ text: t }]), full: [{ text: p.text }], finish: p.truncated ? 'MAX_TOKENS' : 'STOP' });
    }
  }
  const usage = {
    promptTokenCount: promptTokens,
    candidatesTokenCount: outTokens,
    totalTokenCount: promptTokens + outTokens,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokens }],
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
    return streamParts(ctx, 200, sseHeaders(ctx), objs.map((o) => `data: ${JSON.stringify(o)}\r\n\r\n`));
  }
  // Without alt=sse Gemini streams one JSON array, element by element.
  const parts = objs.map((o, i) => `${i === 0 ? '[' : ',\r\n'}${JSON.stringify(o)}`);
  parts.push(']');
  return streamParts(ctx, 200, baseHeaders(ctx, { 'content-type': 'application/json; charset=UTF-8' }), parts);
}
