// Creation and reset of the per-instance mutable state.
import type { MockState } from './types.ts';

export function createState(opts: { latencyMs?: number; record?: boolean; maxRecords?: number }): MockState {
  return {
    latencyMs: Math.max(0, opts.latencyMs ?? 0),
    recording: opts.record !== false,
    maxRecords: Math.max(1, opts.maxRecords ?? 1000),
    requests: [],
    seq: 0,
    failCounters: new Map(),
    files: new Map(),
    batches: new Map(),
    realtime: [],
  };
}

/** Clears records and realtime sessions (keeping the same arrays), fail-times counters, files and batches. */
export function resetState(state: MockState): void {
  state.requests.length = 0;
  state.failCounters.clear();
  state.files.clear();
  state.batches.clear();
  state.realtime.length = 0;
}
