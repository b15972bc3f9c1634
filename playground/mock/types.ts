// Shared types of the mock upstream.
import type { IncomingHttpHeaders } from 'node:http';

/** One request seen by the mock (kept in `MockUpstream.requests`, newest last, capped). */
export interface MockRequestRecord {
  /** Sequence number inside this mock instance (1-based). */
  id: number;
  method: string;
  /** Path including the query string, exactly as received. */
  path: string;
  /** Request headers, names lowercased, repeated values joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  bodySha256: string;
  /** The credential the request carried (Bearer token, x-api-key, ?key= or x-goog-api-key), or null. */
  apiKey: string | null;
  /** Name of the matched route (e.g. "chat.completions"), null when unmatched/not yet routed. */
  route: string | null;
  /** Status code the mock answered with, null when it never sent headers (reset, client gone). */
  status: number | null;
  /** True when the client closed the connection before the mock finished its response. */
  aborted: boolean;
  /** True when the mock finished writing its whole response. */
  completed: boolean;
  /** Date.now() at arrival and at finish/close. */
  startedAt: number;
  finishedAt: number | null;
}

/** One WebSocket session of `/v1/realtime` (kept in `MockUpstream.realtime`, oldest first). */
export interface RealtimeSessionRecord {
  sessionId: string;
  /** Path with the query string, as received. */
  path: string;
  /** The `model` query parameter. */
  model: string;
  /** Handshake headers, names lowercased. */
  headers: Record<string, string>;
  /** The key it authenticated with (Bearer, else the `openai-insecure-api-key.*` subprotocol). */
  apiKey: string;
  /** The subprotocol the mock picked ('' for none). */
  protocol: string;
  /** Every message the mock received, in order. */
  received: { binary: boolean; data: Buffer }[];
  closed: boolean;
  closeCode: number | null;
  closeReason: string | null;
  /** Who started the close: the client (or its going away), or the mock (a `close` event asked it to). */
  closedBy: 'client' | 'mock' | null;
}

export interface MockUpstreamOptions {
  /** Port to listen on; 0 (default) picks a free port. */
  port?: number;
  /** Host to bind; default 127.0.0.1. */
  host?: string;
  /** Extra latency before the response headers, for every request. */
  latencyMs?: number;
  /** Keep request records (default true). Disable for long benchmarks. */
  record?: boolean;
  /** How many records to keep (default 1000, oldest dropped first). */
  maxRecords?: number;
}

export interface MockUpstream {
  /** http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  port: number;
  /** Recorded requests, oldest first. Same array instance for the lifetime of the mock. */
  requests: MockRequestRecord[];
  /** Realtime WebSocket sessions, oldest first. Same array instance for the lifetime of the mock. */
  realtime: RealtimeSessionRecord[];
  /** Clears records, realtime sessions, fail-times counters, stored files and batches. */
  reset(): void;
  close(): Promise<void>;
}

/** Error/auth/header dialect of a route. */
export type Family = 'openai' | 'anthropic' | 'gemini' | 'none';

/** Fault/shape knobs read from x-mock-* request headers. */
export interface Knobs {
  chunks: number | null;
  chunkDelayMs: number;
  delayMs: number;
  status: number | null;
  retryAfter: string | null;
  failTimes: number | null;
  failKey: string;
  breakAfter: number | null;
  reset: boolean;
  stallMs: number;
  gzip: boolean;
  /** x-mock-stream-error: an Anthropic stream sends this error type as an `error` event after its first delta. */
  streamError: string | null;
  /** x-mock-cached-tokens: N prompt tokens reported as read from the provider's prompt cache. */
  cachedTokens: number;
  /** x-mock-finish-reason: the finishReason every Gemini candidate ends with (e.g. SAFETY). */
  finishReason: string | null;
}

export interface StoredFile {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at: number | null;
  filename: string;
  purpose: string;
  status: 'processed';
  status_details: null;
  data: Buffer;
}

export type BatchObject = Record<string, unknown> & { id: string; status: string };

/** Per-instance mutable state. */
export interface MockState {
  latencyMs: number;
  recording: boolean;
  maxRecords: number;
  requests: MockRequestRecord[];
  seq: number;
  failCounters: Map<string, number>;
  files: Map<string, StoredFile>;
  batches: Map<string, BatchObject>;
  realtime: RealtimeSessionRecord[];
}

export type { IncomingHttpHeaders };
