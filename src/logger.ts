import { createConsola, type ConsolaInstance, type LogObject } from 'consola'
import type { ResolvedConfig } from './config/types.ts'

const LEVELS: Record<ResolvedConfig['logLevel'], number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4 }

/** One JSON object per line, for log shippers (consola has no JSON reporter of its own). */
const jsonReporter = {
  log(entry: LogObject) {
    const [first, ...rest] = entry.args
    const line = {
      time: entry.date.toISOString(),
      level: entry.type,
      tag: entry.tag || undefined,
      msg: typeof first === 'string' ? first : JSON.stringify(first),
      ...(rest.length > 0 && { args: rest.map((a) => (a instanceof Error ? { name: a.name, message: a.message } : a)) }),
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
