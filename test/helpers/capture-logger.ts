import { createConsola, type ConsolaInstance } from 'consola'

/** A logger that keeps what it is given, for asserting what the gateway reported. */
export function captureLogger(): { log: ConsolaInstance; entries: Array<{ type: string; text: string }> } {
  const entries: Array<{ type: string; text: string }> = []
  const log = createConsola({
    level: 5,
    reporters: [{ log: (entry) => entries.push({ type: entry.type, text: entry.args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ') }) }],
  })
  return { log, entries }
}
