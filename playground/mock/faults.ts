// Fault knobs: x-mock-* header parsing, fail-times gating and forced statuses.
import type { IncomingHttpHeaders } from 'node:http';
import type { Ctx } from './context.ts';
import { sendError } from './respond.ts';
import type { Knobs, MockState } from './types.ts';

function int(h: IncomingHttpHeaders, name: string): number | null {
  const v = h[name];
  if (typeof v !== 'string' || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.max(0, Math.trunc(n)) : null;
}

function flag(h: IncomingHttpHeaders, name: string): boolean {
  const v = h[name];
  return typeof v === 'string' && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export function parseKnobs(h: IncomingHttpHeaders): Knobs {
  const ra = h['x-mock-retry-after'];
  const fk = h['x-mock-fail-key'];
  const chunks = int(h, 'x-mock-chunks');
  return {
    chunks: chunks === null ? null : Math.max(1, chunks),
    chunkDelayMs: int(h, 'x-mock-chunk-delay-ms') ?? 0,
    delayMs: int(h, 'x-mock-delay-ms') ?? 0,
    status: int(h, 'x-mock-status'),
    retryAfter: typeof ra === 'string' && ra !== '' ? ra : null,
    failTimes: int(h, 'x-mock-fail-times'),
    failKey: typeof fk === 'string' ? fk : '',
    breakAfter: int(h, 'x-mock-break-after'),
    reset: flag(h, 'x-mock-reset'),
    stallMs: int(h, 'x-mock-stall-ms') ?? 0,
    gzip: flag(h, 'x-mock-gzip'),
    streamError: typeof h['x-mock-stream-error'] === 'string' && h['x-mock-stream-error'] !== '' ? h['x-mock-stream-error'] : null,
    cachedTokens: int(h, 'x-mock-cached-tokens') ?? 0,
    finishReason: typeof h['x-mock-finish-reason'] === 'string' && h['x-mock-finish-reason'] !== '' ? h['x-mock-finish-reason'] : null,
  };
}

/**
 * x-mock-fail-times: K gates the faults (status, reset, break-after, stall, delay) to the first K
 * requests bearing the same x-mock-fail-key; later requests get none of them. With no other fault
 * header, the failing requests answer 503.
 */
export function gateFailTimes(state: MockState, k: Knobs): void {
  if (k.failTimes === null) return;
  const n = (state.failCounters.get(k.failKey) ?? 0) + 1;
  state.failCounters.set(k.failKey, n);
  if (n <= k.failTimes) {
    if (k.status === null && !k.reset && k.breakAfter === null && k.stallMs === 0 && k.delayMs === 0) k.status = 503;
    return;
  }
  k.status = null;
  k.reset = false;
  k.breakAfter = null;
  k.stallMs = 0;
  k.delayMs = 0;
}

const MESSAGES: Record<number, string> = {
  400: 'Mock upstream: forced bad request.',
  401: 'Mock upstream: forced authentication failure.',
  403: 'Mock upstream: forced permission failure.',
  404: 'Mock upstream: forced not found.',
  429: 'Rate limit reached for requests (mock upstream forced 429).',
  500: 'The server had an error while processing your request. Sorry about that! (mock upstream forced 500)',
  502: 'Bad gateway. (mock upstream forced 502)',
  503: 'The engine is currently overloaded, please try again later. (mock upstream forced 503)',
  504: 'Gateway timeout. (mock upstream forced 504)',
  529: 'Overloaded (mock upstream forced 529)',
};

/** Answers x-mock-status (if any, and >= 400 or not 2xx) and returns true when it did. */
export function applyForcedStatus(ctx: Ctx): boolean {
  const s = ctx.knobs.status;
  if (s === null || (s >= 200 && s < 300)) return false;
  sendError(ctx, s, MESSAGES[s] ?? `Mock upstream forced status ${s}.`);
  return true;
}
