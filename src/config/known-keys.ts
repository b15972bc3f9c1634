import { ConfigError } from './errors.ts'

/** Edit distance with adjacent swaps (optimal string alignment), ignoring case: `timeot` → `timeout` is 1. */
function distance(a: string, b: string): number {
  a = a.toLowerCase()
  b = b.toLowerCase()
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) rows[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1)
    }
  }
  return rows[a.length][b.length]
}

/**
 * The name in `known` closest to `name`, when it is close enough to be a likely typo (about one
 * edit in three letters); `undefined` otherwise.
 */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(name.length / 3)) + 1
  for (const candidate of known) {
    const d = distance(name, candidate)
    if (d < bestDistance) [best, bestDistance] = [candidate, d]
  }
  return best
}

/**
 * Refuses option names that `value` should not have, so a misspelled option fails the load instead
 * of being ignored. Throws one `ConfigError` naming every unknown key (`<path>.<key>`), each with the
 * closest known name ("did you mean …") or, when none is close, the list of known names.
 *
 * `hints` maps names people reach for to what they mean, for mistakes no spelling distance finds:
 * `{ folder: 'dir' }` answers `did you mean "dir"?`; a value that is not a plain name is shown as
 * written (`{ bodyLimit: 'the top-level "bodyLimit"' }`). A `value` that is not an object is left
 * for the caller to refuse.
 *
 * @example checkKnownKeys(options, ['dir', 'maxFileSize'], 'chatLog', { folder: 'dir' })
 */
export function checkKnownKeys(value: unknown, known: Iterable<string>, path: string, hints: Readonly<Record<string, string>> = {}): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return
  const names = [...known]
  const allowed = new Set(names)
  const errors: ConfigError[] = []
  for (const key of Object.keys(value)) {
    if (allowed.has(key)) continue
    const hint = Object.hasOwn(hints, key) ? hints[key] : undefined
    const guess = hint ?? closestName(key, names)
    const problem = guess !== undefined
      ? `unknown option; did you mean ${/^[\w$-]+$/.test(guess) ? `"${guess}"` : guess}?`
      : `unknown option (known: ${names.join(', ')})`
    errors.push(new ConfigError(path ? `${path}.${key}` : key, problem))
  }
  if (errors.length > 0) throw ConfigError.combine(errors)
}
