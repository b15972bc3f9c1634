import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** `2026-11-26.jsonl` for the day's first file, then `2026-11-26.1.jsonl`, `2026-11-26.2.jsonl`, … */
export function logFileName(date: string, index: number): string {
  return index === 0 ? `${date}.jsonl` : `${date}.${index}.jsonl`
}

/** A route name as a folder name: anything but letters, digits, `.`, `_` and `-` becomes `_`. */
export function folderName(name: string): string {
  const safe = name.replace(/[^\w.-]/g, '_')
  return safe === '.' || safe === '..' ? '_' : safe
}

/** Where a folder's records of one day go next. */
export interface FileCursor {
  index: number
  /** Bytes in that file (as far as this process knows). */
  size: number
}

/**
 * Finds the day's last file in `folder` and its size, so a restarted gateway appends where the
 * previous one stopped instead of starting over at `<date>.jsonl`.
 */
export async function findCursor(folder: string, date: string): Promise<FileCursor> {
  const names = await readdir(folder).catch(() => [] as string[])
  const pattern = new RegExp(`^${date}(?:\\.(\\d+))?\\.jsonl$`)
  let index = -1
  for (const name of names) {
    const match = pattern.exec(name)
    if (match) index = Math.max(index, match[1] ? Number(match[1]) : 0)
  }
  if (index < 0) return { index: 0, size: 0 }
  const size = await stat(join(folder, logFileName(date, index))).then((s) => s.size, () => 0)
  return { index, size }
}

/** The day and index of a log file name, or `undefined` for other files. */
export function parseLogFileName(name: string): { date: string; index: number } | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})(?:\.(\d+))?\.jsonl$/.exec(name)
  return match ? { date: match[1], index: match[2] ? Number(match[2]) : 0 } : undefined
}

/** Log file names in the order they were written: by day, then by index (`.2` before `.10`). */
export function sortLogFileNames(names: readonly string[]): string[] {
  return names
    .map((name) => ({ name, parsed: parseLogFileName(name) }))
    .filter((entry): entry is { name: string; parsed: { date: string; index: number } } => entry.parsed !== undefined)
    .sort((a, b) => (a.parsed.date === b.parsed.date ? a.parsed.index - b.parsed.index : a.parsed.date < b.parsed.date ? -1 : 1))
    .map((entry) => entry.name)
}
