// Echo (header passthrough / path rewriting checks) and /__mock/* control endpoints.
import type { Ctx } from './context.ts';
import { sendJson } from './respond.ts';
import { sha256Hex } from './util.ts';

export async function echo(ctx: Ctx): Promise<void> {
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of ctx.query) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  sendJson(ctx, 200, {
    method: ctx.method,
    path: ctx.path,
    url: ctx.req.url ?? ctx.path,
    query,
    headers: ctx.req.headers,
    bodyLength: ctx.body.length,
    bodySha256: sha256Hex(ctx.body),
  });
}

export async function health(ctx: Ctx): Promise<void> {
  sendJson(ctx, 200, { ok: true });
}

/** GET /__mock/requests — summaries of recorded requests (no bodies), for out-of-process use. */
export async function listRecords(ctx: Ctx): Promise<void> {
  sendJson(ctx, 200, {
    recording: ctx.state.recording,
    data: ctx.state.requests.map(({ body, ...r }) => ({ ...r, bodyLength: body.length })),
  });
}
