// WebSocket /v1/realtime?model=… — a small imitation of OpenAI's Realtime API: auth (Bearer or the
// `openai-insecure-api-key.*` subprotocol), realtime-style JSON events, binary echo, close on request.
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { planText, replyText, textOf } from './content.ts';
import { parseKnobs } from './faults.ts';
import { errorBody } from './respond.ts';
import type { MockState, RealtimeSessionRecord } from './types.ts';
import { genId } from './util.ts';

const KEY_PROTOCOL = 'openai-insecure-api-key.';
/** `response.text.delta` events per `response.create` (the `x-mock-chunks` knob of the handshake changes it). */
const REALTIME_CHUNKS = 4;

function refuse(socket: Duplex, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`, 'content-type: application/json', `content-length: ${Buffer.byteLength(text)}`, 'connection: close'];
  for (const [name, value] of Object.entries(headers)) head.push(`${name}: ${value}`);
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
}

function offeredProtocols(req: IncomingMessage): string[] {
  const h = req.headers['sec-websocket-protocol'];
  return typeof h === 'string' ? h.split(',').map((p) => p.trim()).filter(Boolean) : [];
}

/** The key a Realtime handshake carries: `Authorization: Bearer` first, else the subprotocol (browsers). */
export function realtimeKey(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  const bearer = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  if (bearer) return bearer[1].trim();
  const fromProtocol = offeredProtocols(req).find((p) => p.startsWith(KEY_PROTOCOL));
  return fromProtocol ? fromProtocol.slice(KEY_PROTOCOL.length) : null;
}

/** Answers Realtime's JSON events the way the real API shapes them (ids, event_id, types). */
function answer(ws: WebSocket, session: RealtimeSessionRecord, state: { lastText: string; chunks: number }, raw: string): void {
  const send = (event: Record<string, unknown>) => ws.send(JSON.stringify({ event_id: genId('event_'), ...event }));
  let event: Record<string, any>;
  try {
    event = JSON.parse(raw);
  } catch {
    return send({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_json', message: 'The event is not valid JSON.', param: null, event_id: null } });
  }
  switch (event.type) {
    case 'session.update':
      return send({ type: 'session.updated', session: { id: session.sessionId, object: 'realtime.session', model: session.model, ...(event.session ?? {}) } });
    case 'conversation.item.create': {
      state.lastText = textOf(event.item?.content) || state.lastText;
      const item = { id: event.item?.id ?? genId('item_'), object: 'realtime.item', status: 'completed', ...(event.item ?? {}) };
      return send({ type: 'conversation.item.created', previous_item_id: null, item });
    }
    case 'response.create': {
      const responseId = genId('resp_');
      const itemId = genId('item_');
      const plan = planText(replyText(state.lastText), state.chunks);
      send({ type: 'response.created', response: { id: responseId, object: 'realtime.response', status: 'in_progress', output: [] } });
      for (const delta of plan.chunks) send({ type: 'response.text.delta', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, delta });
      send({ type: 'response.text.done', response_id: responseId, item_id: itemId, output_index: 0, content_index: 0, text: plan.text });
      const usage = { total_tokens: 10 + plan.tokens, input_tokens: 10, output_tokens: plan.tokens };
      const output = [{ id: itemId, object: 'realtime.item', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'text', text: plan.text }] }];
      return send({ type: 'response.done', response: { id: responseId, object: 'realtime.response', status: 'completed', output, usage } });
    }
    case 'close':
      // Test hook: the mock ends the session with the code and reason asked for.
      session.closedBy ??= 'mock';
      return ws.close(Number(event.code ?? 1000), String(event.reason ?? ''));
    default:
      return send({ type: 'error', error: { type: 'invalid_request_error', code: 'unknown_event', message: `Unknown event type: ${String(event.type)}`, param: 'type', event_id: event.event_id ?? null } });
  }
}

export interface RealtimeEndpoint {
  /** The mock server's `'upgrade'` listener. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Drops every open session (when the mock closes). */
  terminateAll(): void;
}

/** The Realtime WebSocket endpoint of one mock instance. */
export function createRealtimeEndpoint(state: MockState): RealtimeEndpoint {
  const open = new Set<WebSocket>();
  const server = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // Like the real API: `realtime` when offered, never the key-carrying protocol.
    handleProtocols: (offered) => (offered.has('realtime') ? 'realtime' : ([...offered].find((p) => !p.startsWith(KEY_PROTOCOL)) ?? false)),
  });
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => {});
    const url = new URL(req.url ?? '/', 'http://mock');
    if (url.pathname !== '/v1/realtime') return refuse(socket, 404, errorBody('openai', 404, `Invalid URL (GET ${url.pathname})`));
    const knobs = parseKnobs(req.headers);
    if (knobs.status !== null) return refuse(socket, knobs.status, errorBody('openai', knobs.status, `Mock forced status ${knobs.status}`));
    const key = realtimeKey(req);
    if (!key) return refuse(socket, 401, errorBody('openai', 401, "You didn't provide an API key.", { code: null }));
    if (key.startsWith('sk-bad')) return refuse(socket, 401, errorBody('openai', 401, `Incorrect API key provided: ${key.slice(0, 8)}****.`, { code: 'invalid_api_key' }));
    if (key.startsWith('sk-ratelimited')) return refuse(socket, 429, errorBody('openai', 429, 'Rate limit reached (mock).'), { 'retry-after': '1' });
    server.handleUpgrade(req, socket, head, (ws) => {
      open.add(ws);
      const session: RealtimeSessionRecord = {
        sessionId: genId('sess_'),
        path: req.url ?? '/',
        model: url.searchParams.get('model') ?? 'gpt-4o-realtime-preview',
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')])),
        apiKey: key,
        protocol: ws.protocol,
        received: [],
        closed: false,
        closeCode: null,
        closeReason: null,
        closedBy: null,
      };
      state.realtime.push(session);
      const conversation = { lastText: '', chunks: knobs.chunks ?? REALTIME_CHUNKS };
      ws.send(JSON.stringify({ event_id: genId('event_'), type: 'session.created', session: { id: session.sessionId, object: 'realtime.session', model: session.model, modalities: ['text', 'audio'] } }));
      ws.on('message', (data: RawData, isBinary: boolean) => {
        const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        session.received.push({ binary: isBinary, data: bytes });
        if (isBinary) ws.send(bytes, { binary: true });
        else answer(ws, session, conversation, bytes.toString('utf8'));
      });
      ws.on('close', (code, reason) => {
        open.delete(ws);
        session.closedBy ??= 'client';
        session.closed = true;
        session.closeCode = code;
        session.closeReason = reason.toString('utf8');
      });
      ws.on('error', () => {});
    });
  };
  return {
    upgrade,
    terminateAll: () => {
      for (const ws of open) ws.terminate();
    },
  };
}
