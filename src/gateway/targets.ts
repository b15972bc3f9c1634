import type { ResolvedRoute, ResolvedTarget } from '../config/types.ts'

const cursors = new WeakMap<ResolvedRoute, number>()
const schedules = new WeakMap<ResolvedRoute, ResolvedTarget[]>()

/** Targets repeated by weight (weights 3 and 1 → a a a b), interleaved so one does not take a burst. */
function schedule(route: ResolvedRoute): ResolvedTarget[] {
  let list = schedules.get(route)
  if (!list) {
    list = []
    const remaining = route.targets.map((t) => Math.max(1, Math.round(t.weight)))
    while (remaining.some((n) => n > 0)) {
      for (const [i, target] of route.targets.entries()) {
        if (remaining[i] > 0) {
          list.push(target)
          remaining[i]--
        }
      }
    }
    schedules.set(route, list)
  }
  return list
}

/**
 * The target for an attempt: the first attempt takes the next one in weighted round-robin order;
 * a retry moves on to a different target than the one that just failed, when there is one.
 */
export function pickTarget(route: ResolvedRoute, attempt: number, previous: string | undefined): string {
  const { targets } = route
  if (targets.length === 1) return targets[0].base
  if (attempt > 1 && previous !== undefined) {
    const index = targets.findIndex((t) => t.base === previous)
    return targets[(index + 1) % targets.length].base
  }
  const list = schedule(route)
  const cursor = cursors.get(route) ?? 0
  cursors.set(route, (cursor + 1) % list.length)
  return list[cursor].base
}
