/**
 * The deepest a request's JSON may nest. `JSON.parse` takes any depth, but the code that walks the
 * value afterwards (`JSON.stringify` to re-send or log it, hashing a cache key, counting tokens) is
 * recursive and overflows the stack at a few thousand levels. No API body comes near this.
 */
export const MAX_JSON_DEPTH = 512

/**
 * Whether JSON text parsed to `value` nests deeper than `max`: walked without recursion, so any
 * depth is safe to check. Text too short to hold `max` opening and closing brackets is not walked.
 */
export function nestsDeeperThan(value: unknown, text: string, max: number): boolean {
  if (typeof value !== 'object' || value === null || text.length <= 2 * max) return false
  const nodes: object[] = [value]
  const depths: number[] = [1]
  while (nodes.length > 0) {
    const node = nodes.pop()!
    const depth = depths.pop()!
    if (depth > max) return true
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (typeof child === 'object' && child !== null) {
        nodes.push(child)
        depths.push(depth + 1)
      }
    }
  }
  return false
}
