/** A config value that cannot be used. The message names the field (and the file, when known). */
export class ConfigError extends Error {
  override name = 'ConfigError'
  constructor(
    /** Dotted path of the field, e.g. `routes.openai.target`. */
    readonly field: string,
    readonly problem: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}${field}: ${problem}`)
  }
}

/** Throws a `ConfigError` for `field` unless `ok`. For plugin factories checking their options. */
export function assertConfig(ok: unknown, field: string, problem: string): asserts ok {
  if (!ok) throw new ConfigError(field, problem)
}

/** Edit distance between two short names (for "did you mean"). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]
}

/** The known name closest to `name`, when it is close enough to be a likely typo. */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const d = distance(name, candidate)
    if (d < bestDistance) [best, bestDistance] = [candidate, d]
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined
}

/**
 * Throws a `ConfigError` naming the first key of `options` that is not in `known`, with the closest
 * known name ("did you mean …") and the full list. For plugin factories checking their options.
 */
export function assertKnownOptions(options: object, known: readonly string[], field: string): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue
    const near = closestName(name, known)
    throw new ConfigError(`${field}.${name}`, `unknown option${near ? ` (did you mean "${near}"?)` : ''}; known: ${known.join(', ')}`)
  }
}
