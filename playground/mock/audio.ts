// Audio: POST /v1/audio/speech (deterministic bytes), /v1/audio/transcriptions and /translations (multipart).
import { createHash } from 'node:crypto';
import type { Ctx } from './context.ts';
import { HttpError } from './context.ts';
import { parseMultipart } from './multipart.ts';
import { baseHeaders, sendBytes, sendJson } from './respond.ts';
import { sseData, sseHeaders, streamParts } from './sse.ts';
import { sha256Hex } from './util.ts';

/** 10-byte ID3v2.4 header with zero size, so players/sniffers see "audio/mpeg". */
const ID3 = Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
const BYTES_PER_INPUT_BYTE = 256;

/**
 * The exact audio body /v1/audio/speech returns for `input`: ID3 header + 256 bytes per UTF-8 byte of
 * input (min 256), filled by a xorshift stream seeded with sha256(input).
 */
export function speechBytes(input: string): Buffer {
  const n = Math.max(1, Buffer.byteLength(input)) * BYTES_PER_INPUT_BYTE;
  const out = Buffer.allocUnsafe(ID3.length + n);
  ID3.copy(out, 0);
  const seed = createHash('sha256').update(input).digest();
  let s = seed.readUInt32LE(0) | 1;
  for (let off = ID3.length; off < out.length; off += 4) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out.writeUInt32LE(s >>> 0, off);
  }
  return out;
}

const AUDIO_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm',
};

export async function speech(ctx: Ctx): Promise<void> {
  const body = ctx.json();
  if (typeof body.input !== 'string') throw new HttpError(400, "'input' is a required property", { param: 'input' });
  const audio = speechBytes(body.input);
  const type = AUDIO_TYPES[typeof body.response_format === 'string' ? body.response_format : 'mp3'] ?? 'audio/mpeg';
  const k = ctx.knobs;
  if (k.chunks === null && k.chunkDelayMs === 0 && k.stallMs === 0) return sendBytes(ctx, 200, type, audio);
  // Chunked like the real endpoint when a stream knob is present.
  const n = Math.max(1, Math.min(k.chunks ?? 4, audio.length));
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) parts.push(audio.subarray(Math.floor((i * audio.length) / n), Math.floor(((i + 1) * audio.length) / n)));
  return streamParts(ctx, 200, baseHeaders(ctx, { 'content-type': type }), parts);
}

/** transcription text: names the upload's filename, byte length and sha256, so tests can check bytes. */
export function transcriptText(filename: string, data: Buffer): string {
  return `Mock transcription of ${filename}: ${data.length} bytes, sha256 ${sha256Hex(data)}.`;
}

export async function transcriptions(ctx: Ctx): Promise<void> {
  const form = parseMultipart(ctx.body, ctx.req.headers['content-type']);
  const file = form.files.find((f) => f.field === 'file') ?? form.files[0];
  if (!file) throw new HttpError(400, "'file' is a required property", { param: 'file' });
  const text = transcriptText(file.filename, file.data);
  const format = form.fields.response_format ?? 'json';
  const seconds = Math.max(1, Math.round(file.data.length / 16000));
  if (form.fields.stream === 'true') {
    const words = text.match(/\s*\S+/g) ?? [text];
    const parts = words.map((w) => sseData({ type: 'transcript.text.delta', delta: w, logprobs: null }));
    parts.push(sseData({ type: 'transcript.text.done', text, usage: { type: 'duration', seconds } }));
    return streamParts(ctx, 200, sseHeaders(ctx), parts);
  }
  switch (format) {
    case 'text':
      return sendBytes(ctx, 200, 'text/plain; charset=utf-8', `${text}\n`);
    case 'srt':
      return sendBytes(ctx, 200, 'text/plain; charset=utf-8', `1\n00:00:00,000 --> 00:00:0${Math.min(seconds, 9)},000\n${text}\n\n`);
    case 'vtt':
      return sendBytes(ctx, 200, 'text/vtt; charset=utf-8', `WEBVTT\n\n00:00:00.000 --> 00:00:0${Math.min(seconds, 9)}.000\n${text}\n\n`);
    case 'verbose_json':
      return sendJson(ctx, 200, {
        task: ctx.path.endsWith('translations') ? 'translate' : 'transcribe',
        language: form.fields.language ?? 'english',
        duration: seconds,
        text,
        segments: [{ id: 0, seek: 0, start: 0, end: seconds, text, tokens: [], temperature: 0, avg_logprob: -0.1, compression_ratio: 1, no_speech_prob: 0 }],
        usage: { type: 'duration', seconds },
      });
    default:
      return sendJson(ctx, 200, { text, usage: { type: 'duration', seconds } });
  }
}
