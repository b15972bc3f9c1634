import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { brotliDecompress, gunzip, inflate } from 'node:zlib'
import { errorResponse, type UpstreamResponse } from '../../src/index.ts'
import { filterModelList, type ModelFilter } from './models.ts'

/** Model lists are small; a larger body is passed on unfiltered rather than held in memory. */
const MAX_LIST_BYTES = 8 * 1024 * 1024

const gunzipAsync = promisify(gunzip)
const inflateAsync = promisify(inflate)
const brotliAsync = promisify(brotliDecompress)
/** Bounded like the compressed body: a few KB of gzip can expand to gigabytes. */
const UNZIPPED = { maxOutputLength: MAX_LIST_BYTES }

const DECODERS: Record<string, (data: Buffer) => Promise<Buffer>> = {
  gzip: (data) => gunzipAsync(data, UNZIPPED),
  'x-gzip': (data) => gunzipAsync(data, UNZIPPED),
  deflate: (data) => inflateAsync(data, UNZIPPED),
  br: (data) => brotliAsync(data, UNZIPPED),
}

/** The client's 401 when the request carries no known forward key. */
export function unauthorized(sent: boolean, where: string): Response {
  return sent
    ? errorResponse(401, 'Incorrect API key provided. Use a key this gateway issued to you.', 'invalid_request_error', 'invalid_api_key')
    : errorResponse(401, `You didn't provide an API key. Send the key this gateway issued to you in ${where}.`, 'invalid_request_error', 'missing_api_key')
}

/** The client's 403 for a model its level may not use. */
export function modelRefused(model: string, level: string): Response {
  return errorResponse(403, `The model \`${model}\` is not available to your key (level "${level}").`, 'invalid_request_error', 'model_not_allowed')
}

/** Milliseconds a response asks to wait (`retry-after-ms`, `Retry-After` in seconds or as an HTTP date). */
export function retryAfterMs(headers: UpstreamResponse['headers'], now = Date.now()): number | undefined {
  const ms = Number(headers['retry-after-ms'])
  if (headers['retry-after-ms'] !== undefined && Number.isFinite(ms) && ms >= 0) return ms
  const value = headers['retry-after']
  if (typeof value !== 'string' || value.trim() === '') return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/**
 * Lets go of a body that will not be sent: undici's `dump()` reads a small one to the end so the
 * connection goes back to the pool; anything else is destroyed (with its error swallowed).
 */
function discard(body: Readable): void {
  const dumpable = body as Readable & { dump?: (options?: { limit: number }) => Promise<void> }
  if (typeof dumpable.dump === 'function') return void dumpable.dump({ limit: 64 * 1024 }).catch(() => {})
  body.on('error', () => {})
  body.destroy()
}

function replaced(response: UpstreamResponse, status: number, headers: UpstreamResponse['headers'], body: Buffer): UpstreamResponse {
  return { status, headers: { ...headers, 'content-length': String(body.length) }, body: Readable.from([body]), attempt: response.attempt }
}

/**
 * The upstream refused the gateway's own key (401/403). Its body may quote part of that key
 * ("Incorrect API key provided: sk-proj-****abcd"), and the caller's credential was fine, so the
 * client gets a 502 of the gateway's own instead.
 */
export function keyRejected(response: UpstreamResponse, coolDownMs: number): UpstreamResponse {
  discard(response.body)
  const { status } = response
  const message = `The upstream refused the gateway's API key (HTTP ${status}); that key is set aside for ${Math.ceil(coolDownMs / 1000)} s. Try again.`
  const body = Buffer.from(JSON.stringify({ error: { message, type: 'upstream_error', param: null, code: 'upstream_key_rejected' } }))
  const headers: UpstreamResponse['headers'] = { 'content-type': 'application/json' }
  for (const name of ['x-request-id', 'request-id']) if (response.headers[name] !== undefined) headers[name] = response.headers[name]
  return replaced(response, 502, headers, body)
}

async function readBody(body: Readable): Promise<Buffer | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > MAX_LIST_BYTES) {
      discard(body)
      return undefined
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

/** A model list answer with only the models `filter` allows; any other answer as it was. */
export async function filteredModelList(response: UpstreamResponse, filter: ModelFilter): Promise<UpstreamResponse> {
  const type = response.headers['content-type']
  if (response.status !== 200 || typeof type !== 'string' || !type.includes('json')) return response
  const raw = await readBody(response.body)
  // Too large to hold: nothing can be sent for it without the whole list, so answer with an error.
  if (raw === undefined) return replaced(response, 502, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ error: { message: 'The model list was too large to filter', type: 'upstream_error', param: null, code: 'upstream_error' } })))
  const encoding = String(response.headers['content-encoding'] ?? 'identity').trim().toLowerCase()
  const decode = DECODERS[encoding]
  let list: unknown
  try {
    list = filterModelList(JSON.parse((decode ? await decode(raw) : raw).toString('utf8')), filter)
  } catch {
    list = undefined
  }
  if (list === undefined) {
    // Not a list we understand: refusing is safer than showing models the level may not use.
    return replaced(response, 502, { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ error: { message: 'The upstream answered the model list in a shape the gateway could not filter', type: 'upstream_error', param: null, code: 'upstream_error' } })))
  }
  const { 'content-encoding': _encoding, 'transfer-encoding': _transfer, etag: _etag, ...headers } = response.headers
  return replaced(response, 200, headers, Buffer.from(JSON.stringify(list)))
}
