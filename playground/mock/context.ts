// Per-request context: parsed URL, body, knobs, abort tracking and abortable waits.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Family, Knobs, MockRequestRecord, MockState } from './types.ts';

/** Thrown by handlers to answer an error in the route's dialect. */
export class HttpError extends Error {
  readonly status: number;
  readonly type: string | undefined;
  readonly code: string | null;
  readonly param: string | null;
  constructor(status: number, message: string, opts: { type?: string; code?: string | null; param?: string | null } = {}) {
    super(message);
    this.status = status;
    this.type = opts.type;
    this.code = opts.code ?? null;
    this.param = opts.param ?? null;
  }
}

const EMPTY = Buffer.alloc(0);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonObject = Record<string, any>;

export class Ctx {
  closed = false;
  /** Set when the mock itself destroys the socket (so it is not counted as a client abort). */
  selfDestroyed = false;
  family: Family = 'openai';
  apiKey: string | null = null;
  params: string[] = [];
  body: Buffer = EMPTY;
  private parsed: JsonObject | undefined;
  private q: URLSearchParams | null = null;
  private timer: NodeJS.Timeout | null = null;
  private wake: ((alive: boolean) => void) | null = null;

  readonly state: MockState;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly record: MockRequestRecord | null;
  readonly path: string;
  readonly rawQuery: string;
  readonly startedAt: number;
  readonly requestId: string;
  readonly knobs: Knobs;

  constructor(
    state: MockState,
    req: IncomingMessage,
    res: ServerResponse,
    record: MockRequestRecord | null,
    path: string,
    rawQuery: string,
    startedAt: number,
    requestId: string,
    knobs: Knobs,
  ) {
    this.state = state;
    this.req = req;
    this.res = res;
    this.record = record;
    this.path = path;
    this.rawQuery = rawQuery;
    this.startedAt = startedAt;
    this.requestId = requestId;
    this.knobs = knobs;
  }

  get method(): string {
    return this.req.method ?? 'GET';
  }

  get query(): URLSearchParams {
    return (this.q ??= new URLSearchParams(this.rawQuery));
  }

  get baseUrl(): string {
    return `http://${this.req.headers.host ?? '127.0.0.1'}`;
  }

  /** The body parsed as a JSON object; 400 in the route's dialect otherwise. */
  json(): JsonObject {
    if (this.parsed) return this.parsed;
    let v: unknown;
    try {
      v = JSON.parse(this.body.toString('utf8'));
    } catch {
      throw new HttpError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      );
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new HttpError(400, 'The request body must be a JSON object.');
    }
    this.parsed = v as JsonObject;
    return this.parsed;
  }

  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    if (this.record) this.record.status = status;
    this.res.writeHead(status, headers);
  }

  /** Close the connection (FIN) mid-response. */
  cut(): void {
    this.selfDestroyed = true;
    this.req.socket.destroy();
  }

  /** Reset the connection (RST where supported) without answering. */
  resetSocket(): void {
    this.selfDestroyed = true;
    const s = this.req.socket as typeof this.req.socket & { resetAndDestroy?: () => void };
    if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
    else s.destroy();
  }

  /** Called when the response closes (finished or not). Cancels a pending wait. */
  markClosed(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const w = this.wake;
    this.wake = null;
    if (w) w(false);
  }

  /** Waits `ms`; resolves false (early) when the connection closed meanwhile. */
  wait(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.wake = null;
        resolve(!this.closed);
      }, ms);
    });
  }
}
