// Mock upstream: a loopback node:http server imitating OpenAI / Anthropic / Gemini with fault knobs.
// Library: startMockUpstream(). CLI: node dist/playground/mock/server.js --port 9000 --host 127.0.0.1 [--latency-ms N] [--no-record] [--max-records N]
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { checkAuth, credentialOf } from './auth.ts';
import { Ctx, HttpError } from './context.ts';
import { applyForcedStatus, gateFailTimes, parseKnobs } from './faults.ts';
import { sendError } from './respond.ts';
import { createRealtimeEndpoint } from './realtime.ts';
import { matchRoute } from './router.ts';
import { createState, resetState } from './state.ts';
import type { MockRequestRecord, MockState, MockUpstream, MockUpstreamOptions } from './types.ts';
import { genId, sha256Hex } from './util.ts';

export type { MockRequestRecord, MockUpstream, MockUpstreamOptions, RealtimeSessionRecord } from './types.ts';
export { speechBytes, transcriptText } from './audio.ts';
export { expectedReply, DEFAULT_CHUNKS } from './content.ts';
export { embeddingVector } from './embeddings.ts';
export { PNG_1X1 } from './images.ts';
export { MODELS } from './openai.ts';
export { ANTHROPIC_MODELS } from './anthropic.ts';
export { GEMINI_MODELS } from './gemini.ts';

const EMPTY = Buffer.alloc(0);
const EMPTY_SHA = sha256Hex(EMPTY);
const noop = (): void => {};

function flattenHeaders(h: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in h) {
    const v = h[k];
    out[k] = Array.isArray(v) ? v.join(', ') : (v ?? '');
  }
  return out;
}

function pushRecord(state: MockState, r: MockRequestRecord): void {
  const list = state.requests;
  if (list.length >= state.maxRecords) list.splice(0, list.length - state.maxRecords + 1);
  list.push(r);
}

function readBody(req: IncomingMessage, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => done(chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
}

function handle(state: MockState, req: IncomingMessage, res: ServerResponse): void {
  const startedAt = performance.now();
  const url = req.url ?? '/';
  const qi = url.indexOf('?');
  const path = qi < 0 ? url : url.slice(0, qi);
  const seq = ++state.seq;
  const knobs = parseKnobs(req.headers);
  gateFailTimes(state, knobs); // at arrival, so counting follows arrival order
  let record: MockRequestRecord | null = null;
  if (state.recording) {
    record = {
      id: seq,
      method: req.method ?? 'GET',
      path: url,
      headers: flattenHeaders(req.headers),
      body: EMPTY,
      bodySha256: EMPTY_SHA,
      apiKey: null,
      route: null,
      status: null,
      aborted: false,
      completed: false,
      startedAt: Date.now(),
      finishedAt: null,
    };
    pushRecord(state, record);
  }
  const ctx = new Ctx(state, req, res, record, path, qi < 0 ? '' : url.slice(qi + 1), startedAt, genId('req_'), knobs);
  res.on('error', noop);
  req.on('error', noop);
  if (record) {
    const r = record;
    res.on('finish', () => {
      r.completed = true;
    });
    res.on('close', () => {
      if (!res.writableFinished && !ctx.selfDestroyed) r.aborted = true;
      r.finishedAt = Date.now();
      ctx.markClosed();
    });
  } else {
    res.on('close', () => ctx.markClosed());
  }
  readBody(req, (body) => {
    ctx.body = body;
    if (record && body.length) {
      record.body = body;
      record.bodySha256 = sha256Hex(body);
    }
    run(ctx).catch(noop);
  });
}

async function run(ctx: Ctx): Promise<void> {
  const m = matchRoute(ctx.method, ctx.path, ctx.req.headers);
  if (m) {
    ctx.family = m.route.family;
    ctx.params = m.params;
  }
  ctx.apiKey = credentialOf(ctx);
  if (ctx.record) {
    ctx.record.apiKey = ctx.apiKey;
    ctx.record.route = m?.route.name ?? null;
  }
  if (ctx.knobs.reset) return ctx.resetSocket();
  const delay = ctx.state.latencyMs + ctx.knobs.delayMs;
  if (delay > 0 && !(await ctx.wait(delay))) return;
  if (ctx.closed) return;
  if (!m) return sendError(ctx, 404, `Invalid URL (${ctx.method} ${ctx.path})`);
  if (!checkAuth(ctx)) return;
  if (applyForcedStatus(ctx)) return;
  try {
    await m.route.handler(ctx);
  } catch (err) {
    if (ctx.closed) return;
    if (ctx.res.headersSent) return ctx.cut();
    if (err instanceof HttpError) {
      return sendError(ctx, err.status, err.message, { type: err.type, code: err.code, param: err.param });
    }
    sendError(ctx, 500, `Mock upstream internal error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Starts the mock on loopback (port 0 = any free port). */
export async function startMockUpstream(opts: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const state = createState(opts);
  const server = createServer((req, res) => handle(state, req, res));
  const realtime = createRealtimeEndpoint(state);
  server.on('upgrade', realtime.upgrade);
  // Long keep-alive so pooled gateway connections are not closed under them mid-benchmark.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    requests: state.requests,
    realtime: state.realtime,
    reset: () => resetState(state),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        realtime.terminateAll();
      }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', short: 'p', default: '9000' },
      host: { type: 'string', default: '127.0.0.1' },
      'latency-ms': { type: 'string', default: '0' },
      'no-record': { type: 'boolean', default: false },
      'max-records': { type: 'string', default: '1000' },
    },
  });
  const host = values.host;
  const mock = await startMockUpstream({
    port: Number(values.port),
    host,
    latencyMs: Number(values['latency-ms']),
    record: !values['no-record'],
    maxRecords: Number(values['max-records']),
  });
  console.log(`mock upstream listening on http://${host.includes(':') ? `[${host}]` : host}:${mock.port}`);
  const stop = (): void => {
    void mock.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
