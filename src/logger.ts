import { createConsola, type ConsolaInstance, type LogObject } from 'consola'
import type { ResolvedConfig } from './config/types.ts'

const LEVELS: Record<ResolvedConfig['logLevel'], number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4 }

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
}

/** One JSON object per line, for log shippers (consola has no JSON reporter of its own). */
const jsonReporter = {
  log(entry: LogObject) {
    const [first, ...rest] = entry.args
    // `log.info('message', { field: … })`: the fields go on the line itself, where a pipeline indexes them.
    const fields = rest.length === 1 && isPlainObject(rest[0]) ? rest[0] : undefined
    const line = {
      time: entry.date.toISOString(),
      level: entry.type,
      tag: entry.tag || undefined,
      msg: typeof first === 'string' ? first : JSON.stringify(first),
      ...fields,
      ...(rest.length > 0 && !fields && { args: rest.map((a) => (a instanceof Error ? { name: a.name, message: a.message } : a)) }),
    }
    process.stdout.write(`${JSON.stringify(line)}\n`)
  },
}

/** The gateway's logger: pretty on a terminal, JSON lines when stdout is not a TTY (production). */
export function createLogger(level: ResolvedConfig['logLevel'], json = !process.stdout.isTTY): ConsolaInstance {
  return createConsola({
    level: LEVELS[level],
    ...(json && { reporters: [jsonReporter] }),
  }).withTag('aifd')
}
