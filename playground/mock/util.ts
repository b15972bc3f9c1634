// Small pure helpers: ids, hashing, token estimates.
import { createHash, randomBytes } from 'node:crypto';

const TAG = randomBytes(5).toString('hex');
let seq = 0;

/** Unique, cheap id: prefix + per-process random tag + counter. */
export function genId(prefix: string): string {
  return `${prefix}${TAG}${(++seq).toString(36).padStart(8, '0')}`;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}

/** Rough, deterministic token estimate: ceil(chars / 4). */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

export function intOr(v: unknown, dflt: number, min = -Infinity, max = Infinity): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(min, Math.trunc(n)));
}

export function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Bounded memo map: cleared wholesale when full (cheap and good enough for hot-path caches). */
export class BoundedCache<V> {
  private readonly map = new Map<string, V>();
  private readonly cap: number;
  constructor(cap: number) {
    this.cap = cap;
  }
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V): V {
    if (this.map.size >= this.cap) this.map.clear();
    this.map.set(k, v);
    return v;
  }
}
