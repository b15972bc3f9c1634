// Response helpers: dialect headers, JSON/bytes/error senders (honouring gzip and break-after knobs).
import type { OutgoingHttpHeaders } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Ctx } from './context.ts';
import type { Family } from './types.ts';

const RL_REQUESTS = 10000;
const RL_TOKENS = 30000000;

/** Headers every response carries, in the dialect of the route (OpenAI: x-ratelimit-*, openai-*). */
export function baseHeaders(ctx: Ctx, extra?: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const ms = Math.round(performance.now() - ctx.startedAt);
  const used = (ctx.state.seq - 1) % RL_REQUESTS;
  let h: OutgoingHttpHeaders;
  if (ctx.family === 'anthropic') {
    const reset = new Date(Date.now() + 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    h = {
      'request-id': ctx.requestId,
      'x-request-id': ctx.requestId,
      'anthropic-organization-id': 'mock-org',
      'anthropic-ratelimit-requests-limit': String(RL_REQUESTS),
      'anthropic-ratelimit-requests-remaining': String(RL_REQUESTS - 1 - used),
      'anthropic-ratelimit-requests-reset': reset,
      'anthropic-ratelimit-tokens-limit': String(RL_TOKENS),
      'anthropic-ratelimit-tokens-remaining': String(RL_TOKENS - 1000),
      'anthropic-ratelimit-tokens-reset': reset,
    };
  } else if (ctx.family === 'gemini') {
    h = { 'x-request-id': ctx.requestId, 'server-timing': `gfet4t7; dur=${ms}` };
  } else {
    h = {
      'x-request-id': ctx.requestId,
      'openai-organization': 'mock-org',
      'openai-processing-ms': String(ms),
      'openai-version': '2020-10-01',
      'x-ratelimit-limit-requests': String(RL_REQUESTS),
      'x-ratelimit-limit-tokens': String(RL_TOKENS),
      'x-ratelimit-remaining-requests': String(RL_REQUESTS - 1 - used),
      'x-ratelimit-remaining-tokens': String(RL_TOKENS - 1000),
      'x-ratelimit-reset-requests': '6ms',
      'x-ratelimit-reset-tokens': '2ms',
    };
  }
  if (extra) Object.assign(h, extra);
  return h;
}

/** Writes a complete body, or (x-mock-break-after) half of it and then drops the connection. */
function finish(ctx: Ctx, status: number, headers: OutgoingHttpHeaders, body: string | Buffer): void {
  if (ctx.closed) return;
  const res = ctx.res;
  headers['content-length'] = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  ctx.writeHead(status, headers);
  if (ctx.knobs.breakAfter !== null) {
    const buf = typeof body === 'string' ? Buffer.from(body) : body;
    const half = buf.subarray(0, Math.floor(buf.length / 2));
    if (half.length === 0) {
      res.flushHeaders();
      setTimeout(() => ctx.cut(), 5);
    } else {
      res.write(half, () => ctx.cut());
    }
    return;
  }
  res.end(body);
}

/** JSON response (object or pre-serialized string); gzip-compressed when x-mock-gzip: 1. */
export function sendJson(ctx: Ctx, status: number, body: unknown, extra?: OutgoingHttpHeaders): void {
  const h = baseHeaders(ctx, extra);
  h['content-type'] = 'application/json';
  let payload: string | Buffer = typeof body === 'string' ? body : JSON.stringify(body);
  if (ctx.knobs.gzip) {
    payload = gzipSync(payload);
    h['content-encoding'] = 'gzip';
  }
  finish(ctx, status, h, payload);
}

export function sendBytes(ctx: Ctx, status: number, contentType: string, body: Buffer | string, extra?: OutgoingHttpHeaders): void {
  const h = baseHeaders(ctx, extra);
  h['content-type'] = contentType;
  finish(ctx, status, h, body);
}

const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};
const GEMINI_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export interface ErrorOpts {
  type?: string;
  code?: string | null;
  param?: string | null;
  headers?: OutgoingHttpHeaders;
}

/** Error body in the given dialect. */
export function errorBody(family: Family, status: number, message: string, opts: ErrorOpts = {}): unknown {
  if (family === 'anthropic') {
    return { type: 'error', error: { type: opts.type ?? ANTHROPIC_TYPES[status] ?? 'api_error', message } };
  }
  if (family === 'gemini') {
    return { error: { code: status, message, status: opts.type ?? GEMINI_STATUS[status] ?? 'UNKNOWN' } };
  }
  const type = opts.type ?? (status === 429 ? 'requests' : status >= 500 ? 'server_error' : 'invalid_request_error');
  const code = opts.code !== undefined ? opts.code : status === 429 ? 'rate_limit_exceeded' : null;
  return { error: { message, type, param: opts.param ?? null, code } };
}

/** Error response in the route's dialect; adds retry-after when x-mock-retry-after is set. */
export function sendError(ctx: Ctx, status: number, message: string, opts: ErrorOpts = {}): void {
  const extra: OutgoingHttpHeaders = { ...opts.headers };
  if (ctx.knobs.retryAfter !== null && extra['retry-after'] === undefined) extra['retry-after'] = ctx.knobs.retryAfter;
  sendJson(ctx, status, errorBody(ctx.family, status, message, opts), extra);
}
