// Deterministic reply content shared by all dialects (OpenAI, Responses, Anthropic, Gemini).
import { BoundedCache } from './util.ts';

export const DEFAULT_CHUNKS = 20;

const PAD = [' Lorem', ' ipsum', ' dolor', ' sit', ' amet,', ' consectetur', ' adipiscing', ' elit.'];

/** Text of a message `content`: a string, or the concatenated text of its text parts. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const p of content) {
    if (typeof p === 'string') out += (out ? ' ' : '') + p;
    else if (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string') {
      out += (out ? ' ' : '') + (p as { text: string }).text;
    }
  }
  return out;
}

/** The base reply: "Hello! You said: <text>" ("(choice i) " prefix for choices after the first). */
export function replyText(userText: string, choiceIndex = 0): string {
  const base = userText ? `Hello! You said: ${userText}` : 'Hello!';
  return choiceIndex > 0 ? `(choice ${choiceIndex}) ${base}` : base;
}

/** Splits text into word pieces that concatenate back to the text exactly. */
export function splitPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+$/g) ?? [];
}

/** Groups pieces into at most n contiguous groups of near-equal size. */
export function groupInto(pieces: readonly string[], n: number): string[] {
  if (pieces.length <= n) return pieces.slice();
  const out: string[] = [];
  for (let g = 0; g < n; g++) {
    const a = Math.floor((g * pieces.length) / n);
    const b = Math.floor(((g + 1) * pieces.length) / n);
    out.push(pieces.slice(a, b).join(''));
  }
  return out;
}

/** Splits a string into min(n, len) character slices (at least one). */
export function splitEven(s: string, n: number): string[] {
  const k = Math.max(1, Math.min(n, s.length));
  const out: string[] = [];
  for (let g = 0; g < k; g++) out.push(s.slice(Math.floor((g * s.length) / k), Math.floor(((g + 1) * s.length) / k)));
  return out;
}

export interface TextPlan {
  /** Stream deltas; `chunks.join('') === text`. */
  chunks: string[];
  text: string;
  /** Completion "tokens" = number of word pieces after padding/truncation. */
  tokens: number;
  /** True when max tokens cut the reply (finish_reason "length"). */
  truncated: boolean;
}

const planCache = new BoundedCache<TextPlan>(512);

/**
 * Pads `text` with filler words until it has at least `chunks` word pieces, truncates it to
 * `maxTokens` pieces if given, then groups the pieces into exactly min(chunks, pieces) deltas.
 */
export function planText(text: string, chunks: number, maxTokens: number | null = null): TextPlan {
  const key = `${chunks}|${maxTokens}|${text}`;
  const hit = planCache.get(key);
  if (hit) return hit;
  let pieces = splitPieces(text);
  for (let i = 0; pieces.length < chunks; i++) pieces.push(PAD[i % PAD.length]);
  let truncated = false;
  if (maxTokens !== null && pieces.length > Math.max(1, maxTokens)) {
    pieces = pieces.slice(0, Math.max(1, maxTokens));
    truncated = true;
  }
  const grouped = groupInto(pieces, Math.max(1, chunks));
  return planCache.set(key, { chunks: grouped, text: grouped.join(''), tokens: pieces.length, truncated });
}

/**
 * The exact assistant text the mock produces for a chat/messages/responses/gemini request whose
 * last user text is `userText` (for tests). `chunks` is x-mock-chunks (default 20).
 */
export function expectedReply(userText: string, opts: { chunks?: number; choiceIndex?: number; maxTokens?: number } = {}): string {
  return planText(replyText(userText, opts.choiceIndex ?? 0), opts.chunks ?? DEFAULT_CHUNKS, opts.maxTokens ?? null).text;
}

/** Reasoning text for "reasoning" models: grouped into ceil(chunks/4) deltas. */
export function planReasoning(userText: string, chunks: number): { chunks: string[]; text: string; tokens: number } {
  const text = `Let me think about "${userText}".`;
  const pieces = splitPieces(text);
  return { chunks: groupInto(pieces, Math.max(1, Math.ceil(chunks / 4))), text, tokens: pieces.length };
}

/** Deterministic JSON arguments for a tool call, derived from its JSON schema. */
export function toolArguments(parameters: unknown, userText: string): string {
  const props = (parameters as { properties?: Record<string, unknown> } | null)?.properties;
  const out: Record<string, unknown> = {};
  if (props && typeof props === 'object' && Object.keys(props).length > 0) {
    for (const [k, schema] of Object.entries(props)) out[k] = sampleFor(schema, userText);
  } else {
    out.input = userText;
  }
  return JSON.stringify(out);
}

function sampleFor(schema: unknown, userText: string): unknown {
  const s = (schema ?? {}) as { type?: unknown; enum?: unknown[]; properties?: unknown };
  if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
  const t = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (t) {
    case 'integer':
    case 'number':
      return 42;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return s.properties ? JSON.parse(toolArguments(s, userText)) : {};
    case 'null':
      return null;
    default:
      return userText || 'mock';
  }
}

export interface PickedTool {
  name: string;
  parameters: unknown;
}

/**
 * Chooses the tool to call from OpenAI chat-style tools (`{type:'function', function:{name, parameters}}`)
 * or Responses-style tools (`{type:'function', name, parameters}`). Returns null when no call should be made.
 */
export function pickOpenAITool(tools: unknown, toolChoice: unknown): PickedTool | null {
  if (!Array.isArray(tools) || tools.length === 0 || toolChoice === 'none') return null;
  const fns: PickedTool[] = [];
  for (const t of tools) {
    if (!t || typeof t !== 'object') continue;
    const f = (t as { function?: { name?: unknown; parameters?: unknown } }).function;
    if (f && typeof f.name === 'string') fns.push({ name: f.name, parameters: f.parameters });
    else if (typeof (t as { name?: unknown }).name === 'string' && (t as { type?: unknown }).type === 'function') {
      fns.push({ name: (t as { name: string }).name, parameters: (t as { parameters?: unknown }).parameters });
    }
  }
  if (!fns.length) return null;
  const wanted =
    toolChoice && typeof toolChoice === 'object'
      ? ((toolChoice as { function?: { name?: unknown }; name?: unknown }).function?.name ?? (toolChoice as { name?: unknown }).name)
      : undefined;
  return fns.find((f) => f.name === wanted) ?? fns[0];
}
