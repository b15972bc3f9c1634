/** One problem of a config: the dotted path of the field and what is wrong with it. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `routes.openai.target`; `''` for the file as a whole. */
  field: string
  problem: string
}

function line(issue: ConfigIssue): string {
  return issue.field ? `${issue.field}: ${issue.problem}` : issue.problem
}

/**
 * A config value that cannot be used. The message names the field (and the file, when known).
 * A config with several problems is one `ConfigError` listing them all (`issues`), one per line,
 * so a user fixes the file in one pass.
 */
export class ConfigError extends Error {
  override name = 'ConfigError'
  /** Every problem found; `field` and `problem` are the first one's. */
  readonly issues: readonly ConfigIssue[]
  constructor(
    /** Dotted path of the field, e.g. `routes.openai.target`. */
    readonly field: string,
    readonly problem: string,
    readonly file?: string,
    issues?: readonly ConfigIssue[],
  ) {
    const all = issues && issues.length > 0 ? issues : [{ field, problem }]
    const head = file ? `${file}: ` : ''
    super(all.length === 1 ? `${head}${line(all[0])}` : `${head}${all.length} problems:\n${all.map((issue) => `  ${line(issue)}`).join('\n')}`)
    this.issues = all
  }

  /** One error holding every issue of `errors` (in order), for `file`. */
  static combine(errors: readonly ConfigError[], file?: string): ConfigError {
    const issues = errors.flatMap((error) => error.issues)
    return new ConfigError(issues[0].field, issues[0].problem, file ?? errors.find((e) => e.file)?.file, issues)
  }
}

/** Throws a `ConfigError` for `field` unless `ok`. For plugin factories checking their options. */
export function assertConfig(ok: unknown, field: string, problem: string): asserts ok {
  if (!ok) throw new ConfigError(field, problem)
}
