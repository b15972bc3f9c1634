// Files (multipart upload kept in memory, exact bytes back) and Batches (completed on first GET).
import type { Ctx, JsonObject } from './context.ts';
import { HttpError } from './context.ts';
import { chatCompletionObject } from './chat.ts';
import { parseMultipart } from './multipart.ts';
import { embeddingsJson } from './openai.ts';
import { sendBytes, sendError, sendJson } from './respond.ts';
import type { BatchObject, StoredFile } from './types.ts';
import { genId, nowSec } from './util.ts';

function fileView(f: StoredFile): JsonObject {
  const { data: _data, ...rest } = f;
  return rest;
}

function storeFile(ctx: Ctx, filename: string, purpose: string, data: Buffer): StoredFile {
  const f: StoredFile = {
    id: genId('file-'),
    object: 'file',
    bytes: data.length,
    created_at: nowSec(),
    expires_at: null,
    filename,
    purpose,
    status: 'processed',
    status_details: null,
    // Copy: the upload buffer may be a slice of a larger recorded body.
    data: Buffer.from(data),
  };
  ctx.state.files.set(f.id, f);
  return f;
}

function fileOr404(ctx: Ctx): StoredFile | null {
  const f = ctx.state.files.get(decodeURIComponent(ctx.params[0]));
  if (!f) sendError(ctx, 404, `No such File object: ${ctx.params[0]}`, { param: 'id' });
  return f ?? null;
}

export async function uploadFile(ctx: Ctx): Promise<void> {
  const form = parseMultipart(ctx.body, ctx.req.headers['content-type']);
  const file = form.files.find((f) => f.field === 'file');
  if (!file) throw new HttpError(400, "'file' is a required property", { param: 'file' });
  if (!form.fields.purpose) throw new HttpError(400, "'purpose' is a required property", { param: 'purpose' });
  sendJson(ctx, 200, fileView(storeFile(ctx, file.filename, form.fields.purpose, file.data)));
}

export async function listFiles(ctx: Ctx): Promise<void> {
  const purpose = ctx.query.get('purpose');
  const data = [...ctx.state.files.values()].filter((f) => !purpose || f.purpose === purpose).map(fileView);
  sendJson(ctx, 200, { object: 'list', data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
}

export async function getFile(ctx: Ctx): Promise<void> {
  const f = fileOr404(ctx);
  if (f) sendJson(ctx, 200, fileView(f));
}

export async function fileContent(ctx: Ctx): Promise<void> {
  const f = fileOr404(ctx);
  if (f) sendBytes(ctx, 200, 'application/octet-stream', f.data, { 'content-disposition': `attachment; filename="${f.filename}"` });
}

export async function deleteFile(ctx: Ctx): Promise<void> {
  const f = fileOr404(ctx);
  if (!f) return;
  ctx.state.files.delete(f.id);
  sendJson(ctx, 200, { id: f.id, object: 'file', deleted: true });
}

// ---------- batches ----------

export async function createBatch(ctx: Ctx): Promise<void> {
  const body = ctx.json();
  for (const k of ['input_file_id', 'endpoint', 'completion_window']) {
    if (typeof body[k] !== 'string') throw new HttpError(400, `Missing required parameter: '${k}'.`, { param: k, code: 'missing_required_parameter' });
  }
  if (!ctx.state.files.has(body.input_file_id)) {
    throw new HttpError(400, `Invalid 'input_file_id': '${body.input_file_id}'. File not found.`, { param: 'input_file_id' });
  }
  const created = nowSec();
  const batch: BatchObject = {
    id: genId('batch_'),
    object: 'batch',
    endpoint: body.endpoint,
    errors: null,
    input_file_id: body.input_file_id,
    completion_window: body.completion_window,
    status: 'validating',
    output_file_id: null,
    error_file_id: null,
    created_at: created,
    in_progress_at: null,
    expires_at: created + 86400,
    finalizing_at: null,
    completed_at: null,
    failed_at: null,
    expired_at: null,
    cancelling_at: null,
    cancelled_at: null,
    request_counts: { total: 0, completed: 0, failed: 0 },
    metadata: body.metadata ?? null,
  };
  ctx.state.batches.set(batch.id, batch);
  sendJson(ctx, 200, batch);
}

/** Runs a validating batch synchronously: one output line per input line. */
function runBatch(ctx: Ctx, b: BatchObject): void {
  if (b.status !== 'validating') return;
  const input = ctx.state.files.get(String(b.input_file_id));
  const lines = input ? input.data.toString('utf8').split('\n').filter((l) => l.trim()) : [];
  const out: string[] = [];
  let failed = 0;
  for (const line of lines) {
    let req: JsonObject;
    try {
      req = JSON.parse(line) as JsonObject;
    } catch {
      failed++;
      continue;
    }
    let body: JsonObject | null = null;
    try {
      if (req.url === '/v1/chat/completions') body = chatCompletionObject(req.body ?? {});
      else if (req.url === '/v1/embeddings') body = JSON.parse(embeddingsJson(req.body ?? {})) as JsonObject;
    } catch {
      body = null;
    }
    if (!body) failed++;
    out.push(
      JSON.stringify({
        id: genId('batch_req_'),
        custom_id: req.custom_id ?? null,
        response: body ? { status_code: 200, request_id: genId('req_'), body } : null,
        error: body ? null : { code: 'unsupported', message: `Mock batch cannot run ${String(req.url)}` },
      }),
    );
  }
  const now = nowSec();
  const outFile = storeFile(ctx, `${b.id}_output.jsonl`, 'batch_output', Buffer.from(out.join('\n') + (out.length ? '\n' : '')));
  Object.assign(b, {
    status: 'completed',
    output_file_id: outFile.id,
    in_progress_at: now,
    finalizing_at: now,
    completed_at: now,
    request_counts: { total: lines.length, completed: lines.length - failed, failed },
  });
}

function batchOr404(ctx: Ctx): BatchObject | null {
  const b = ctx.state.batches.get(decodeURIComponent(ctx.params[0]));
  if (!b) sendError(ctx, 404, `No batch found with id '${ctx.params[0]}'.`, { param: 'batch_id' });
  return b ?? null;
}

export async function getBatch(ctx: Ctx): Promise<void> {
  const b = batchOr404(ctx);
  if (!b) return;
  runBatch(ctx, b);
  sendJson(ctx, 200, b);
}

export async function cancelBatch(ctx: Ctx): Promise<void> {
  const b = batchOr404(ctx);
  if (!b) return;
  if (b.status === 'validating' || b.status === 'in_progress') Object.assign(b, { status: 'cancelled', cancelling_at: nowSec(), cancelled_at: nowSec() });
  sendJson(ctx, 200, b);
}

export async function listBatches(ctx: Ctx): Promise<void> {
  const data = [...ctx.state.batches.values()];
  sendJson(ctx, 200, { object: 'list', data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
}
