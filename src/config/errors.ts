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
