// Streaming writer: SSE events / binary chunks with chunk delay, stall, break-after and abort handling.
import type { OutgoingHttpHeaders } from 'node:http';
import type { Ctx } from './context.ts';
import { baseHeaders } from './respond.ts';

export function sseData(obj: unknown): string {
  return `data: ${JSON.stringify(obj)}\n\n`;
}

export function sseEvent(event: string, obj: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(obj)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

export function sseHeaders(ctx: Ctx, extra?: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const h = baseHeaders(ctx, extra);
  h['content-type'] = 'text/event-stream; charset=utf-8';
  h['cache-control'] = 'no-cache';
  h['x-accel-buffering'] = 'no';
  return h;
}

/**
 * Writes `parts` as a chunked response.
 * - no knobs: one write (fast path);
 * - x-mock-chunk-delay-ms: waits between parts; x-mock-stall-ms: waits after the 3rd part;
 * - x-mock-break-after: N: writes the first N parts, then drops the connection (no terminating chunk).
 * Stops (and clears its timer) as soon as the client goes away.
 */
export async function streamParts(ctx: Ctx, status: number, headers: OutgoingHttpHeaders, parts: readonly (string | Buffer)[]): Promise<void> {
  if (ctx.closed) return;
  const res = ctx.res;
  const { chunkDelayMs, stallMs, breakAfter } = ctx.knobs;
  ctx.writeHead(status, headers);
  if (chunkDelayMs === 0 && stallMs === 0 && breakAfter === null) {
    if (parts.length === 0) res.end();
    else if (typeof parts[0] === 'string') res.end(parts.join(''));
    else res.end(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
    return;
  }
  const stop = breakAfter === null ? -1 : Math.min(breakAfter, parts.length);
  if (stop === 0) {
    res.flushHeaders();
    setTimeout(() => ctx.cut(), 5);
    return;
  }
  for (let i = 0; i < parts.length; i++) {
    if (ctx.closed) return;
    if (i === stop - 1) {
      res.write(parts[i], () => ctx.cut());
      return;
    }
    res.write(parts[i]);
    if (i === parts.length - 1) break;
    if (stallMs > 0 && i === 2 && !(await ctx.wait(stallMs))) return;
    if (chunkDelayMs > 0 && !(await ctx.wait(chunkDelayMs))) return;
  }
  if (!ctx.closed) res.end();
}

export function streamSse(ctx: Ctx, parts: readonly string[], extra?: OutgoingHttpHeaders): Promise<void> {
  return streamParts(ctx, 200, sseHeaders(ctx, extra), parts);
}
