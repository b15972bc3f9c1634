import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { ChatLogRecord } from '../../plugins/chatLog/index.ts'

export { captureLogger } from '../helpers/capture-logger.ts'

/** Every `.jsonl` file under `dir`, relative paths, sorted. */
export function logFiles(dir: string): string[] {
  const found: string[] = []
  const walk = (folder: string) => {
    let names: string[]
    try {
      names = readdirSync(folder)
    } catch {
      return
    }
    for (const name of names) {
      const path = join(folder, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (name.endsWith('.jsonl')) found.push(relative(dir, path))
    }
  }
  walk(dir)
  return found.sort()
}

/** Every record written under `dir` (throws on a line that is not JSON). */
export function readRecords(dir: string): Array<ChatLogRecord & { file: string }> {
  const records: Array<ChatLogRecord & { file: string }> = []
  for (const file of logFiles(dir)) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      if (line) records.push({ ...(JSON.parse(line) as ChatLogRecord), file })
    }
  }
  return records
}

/** Waits until at least `count` records are on disk under `dir`. */
export async function waitForRecords(dir: string, count: number, timeoutMs = 8000): Promise<Array<ChatLogRecord & { file: string }>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const records = readRecords(dir)
    if (records.length >= count) return records
    if (Date.now() > deadline) throw new Error(`expected ${count} records under ${dir}, found ${records.length}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Today's log file name stem (UTC), as the plugin names files. */
export const today = () => new Date().toISOString().slice(0, 10)
