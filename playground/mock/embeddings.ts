// Deterministic embedding vectors (cached), shared by /v1/embeddings, batches and Gemini embedContent.
import { createHash } from 'node:crypto';
import { BoundedCache } from './util.ts';

export interface Vector {
  f32: Float32Array;
  /** JSON array text of the float32 values. */
  json: string;
  /** base64 of the float32 little-endian bytes (what encoding_format: "base64" returns). */
  base64: string;
}

const cache = new BoundedCache<Vector>(512);

export function dimensionsFor(model: string): number {
  if (model.includes('3-large')) return 3072;
  if (model.includes('gemini') || model.includes('embedding-00')) return 768;
  return 1536;
}

/** Unit-length pseudo-random vector seeded by sha256(model + "\0" + text). */
export function embeddingVector(model: string, text: string, dims: number): Vector {
  const key = `${dims}|${model}|${text}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const seed = createHash('sha256').update(`${model}\0${text}`).digest();
  let s = seed.readUInt32LE(0) | 1;
  const raw = new Float64Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    // xorshift32
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const v = (s >>> 0) / 0xffffffff - 0.5;
    raw[i] = v;
    norm += v * v;
  }
  norm = Math.sqrt(norm) || 1;
  const f32 = new Float32Array(dims);
  for (let i = 0; i < dims; i++) f32[i] = raw[i] / norm;
  const bytes = Buffer.allocUnsafe(dims * 4);
  for (let i = 0; i < dims; i++) bytes.writeFloatLE(f32[i], i * 4);
  return cache.set(key, { f32, json: `[${Array.from(f32).join(',')}]`, base64: bytes.toString('base64') });
}
