import { appendFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { findCursor, folderName, logFileName, type FileCursor } from './files.ts'
import { formatExchange } from './print.ts'
import { lineWithRequestText } from './record.ts'
import type { ChatLogRecord, RedactFunction } from './types.ts'

/** The part of a logger the writer uses (the setup's consola, or `console` before any setup). */
interface Logger {
  error(message: string): void
  warn(message: string): void
  log(message: string): void
}

export interface WriterOptions {
  /** Absolute folder the logs go under. */
  dir: string
  maxFileSize: number
  flushIntervalMs: number
  maxQueue: number
  redact: RedactFunction | undefined
  print: boolean
}

/** Records written per batch at most, so one batch never blocks the event loop for long. */
const BATCH_LIMIT = 5000

/**
 * Queued text that makes the writer flush without waiting for the interval. Under load a second's
 * records are megabytes: written in pieces this size, memory stays flat and lines reach the disk sooner.
 */
const FLUSH_CHARS = 256 * 1024

/** A record as the line it will be, and the file group it goes to. */
interface QueuedLine {
  folder: string
  date: string
  line: string
}

interface Pending {
  text: string
  count: number
}

/**
 * Queues records in memory, already as the lines to write (a line is far smaller than the objects it
 * is made from, and frees them at once), and appends them in batches: one `appendFile` per file per
 * batch, off the response path. A failing disk never reaches the requests: the batch is dropped, counted and
 * reported once until a write succeeds again. Dropped rather than retried, because a retry would
 * hold memory while the disk stays broken and could duplicate lines after a partial write.
 */
export class ChatLogWriter {
  /** The console of the latest `setup`; hooks of every route share one writer. */
  log: Logger = console
  readonly #options: WriterOptions
  readonly #colour = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR
  #queue: QueuedLine[] = []
  /** Characters of the lines in the queue. */
  #queuedChars = 0
  #timer: NodeJS.Timeout | undefined
  /** The pending timer is the short one (the queue passed FLUSH_CHARS). */
  #soon = false
  #tail: Promise<void> = Promise.resolve()
  /** Next file per folder and day (`folder\ndate`). */
  readonly #cursors = new Map<string, FileCursor>()
  /** Folders by route and kind: a batch of thousands of records has a handful. */
  readonly #folders = new Map<string, string>()
  readonly #madeFolders = new Set<string>()
  /** Files whose last append failed: the next append starts with a newline, so a half-written line stays alone. */
  readonly #brokenFiles = new Set<string>()
  /** What went wrong, while records are being lost; `undefined` when all is well. */
  #trouble: string | undefined
  #lost = 0

  constructor(options: WriterOptions) {
    this.#options = options
  }

  /** Records waiting to be written. */
  get queued(): number {
    return this.#queue.length
  }

  /**
   * Queues a record as its line (redacted, printed); never waits. Drops it (counted) when the queue
   * is full. `requestText` is the request body as the client sent it, written in place of the parsed
   * `request` when nothing is redacted.
   */
  push(record: ChatLogRecord, requestText?: string): void {
    if (this.#queue.length >= this.#options.maxQueue) {
      this.#lose(1, 'the queue was full', `chatLog: ${this.#options.maxQueue} records are waiting to be written; new records are dropped until the queue drains (reported once)`)
      return
    }
    const line = this.#serialise(record, requestText)
    if (line === undefined) return
    // Placed by the record as built, so a redaction cannot move it to another folder.
    this.#queue.push({ folder: this.#folder(record.route, record.kind), date: record.time.slice(0, 10), line })
    this.#queuedChars += line.length
    if (this.#queuedChars >= FLUSH_CHARS) this.#scheduleSoon()
    else this.#schedule(this.#options.flushIntervalMs)
  }

  /** Writes one batch now (after any batch being written). Never rejects. */
  flush(): Promise<void> {
    const run = this.#tail.then(() => this.#writeBatch())
    this.#tail = run
    return run
  }

  /** Writes everything queued; for the disposer (shutdown, reload). */
  async close(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    do await this.flush()
    while (this.#queue.length > 0)
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #schedule(delayMs: number): void {
    if (this.#timer) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#soon = false
      void this.flush()
    }, delayMs)
    // A crash or exit without shutdown loses at most one interval; a pending batch never keeps the process up.
    this.#timer.unref()
  }

  /** Replaces a pending interval timer with one that fires on the next turn. */
  #scheduleSoon(): void {
    if (this.#soon) return
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#soon = true
    this.#schedule(0)
  }

  async #writeBatch(): Promise<void> {
    const batch = this.#queue.splice(0, BATCH_LIMIT)
    if (batch.length === 0) return
    for (const { line } of batch) this.#queuedChars -= line.length
    try {
      const pending = new Map<string, Pending>()
      // Consecutive records mostly share a folder and a day: look the file up only when they change.
      let lastFolder: string | undefined
      let lastDate: string | undefined
      let cursor: FileCursor | undefined
      let entry: Pending | undefined
      for (const { folder, date, line } of batch) {
        const bytes = Buffer.byteLength(line)
        if (folder !== lastFolder || date !== lastDate || !cursor) {
          lastFolder = folder
          lastDate = date
          cursor = this.#cursors.get(`${folder}\n${date}`) ?? (await this.#cursor(folder, date))
          entry = undefined
        }
        if (cursor.size > 0 && cursor.size + bytes > this.#options.maxFileSize) {
          cursor.index++
          cursor.size = 0
          entry = undefined
        }
        cursor.size += bytes
        if (!entry) {
          const path = join(folder, logFileName(date, cursor.index))
          entry = pending.get(path)
          if (!entry) pending.set(path, (entry = { text: '', count: 0 }))
        }
        entry.text += line
        entry.count++
      }
      await Promise.all(Array.from(pending, ([path, entry]) => this.#append(path, entry)))
    } catch (error) {
      this.#lose(batch.length, 'writing failed', `chatLog: writing a batch failed: ${(error as Error).message}`)
    }
    if (this.#queue.length > 0) this.#scheduleSoon()
  }

  /** The record as one line, after redaction; `undefined` when redaction skips it or fails. */
  #serialise(record: ChatLogRecord, requestText: string | undefined): string | undefined {
    let final: ChatLogRecord | null
    try {
      final = this.#options.redact ? this.#options.redact(record) : record
    } catch (error) {
      this.#lose(1, 'redaction failed', `chatLog: a redact function threw (${(error as Error).message}); such records are not written (reported once)`)
      return undefined
    }
    if (!final) return undefined
    if (this.#options.print) this.log.log(formatExchange(final, this.#colour))
    if (!this.#options.redact && requestText !== undefined && final.request !== null) return lineWithRequestText(final, requestText)
    return `${JSON.stringify(final)}\n`
  }

  #folder(route: string, kind: string): string {
    const key = `${route}\n${kind}`
    let folder = this.#folders.get(key)
    if (folder === undefined) this.#folders.set(key, (folder = join(this.#options.dir, folderName(route), kind)))
    return folder
  }

  async #cursor(folder: string, date: string): Promise<FileCursor> {
    const key = `${folder}\n${date}`
    let cursor = this.#cursors.get(key)
    if (!cursor) {
      cursor = await findCursor(folder, date)
      this.#cursors.set(key, cursor)
      // Days only move forward; forget this folder's days before yesterday.
      const yesterday = new Date(Date.parse(date) - 86_400_000).toISOString().slice(0, 10)
      for (const other of this.#cursors.keys()) {
        const [otherFolder, otherDate] = other.split('\n')
        if (otherFolder === folder && otherDate < yesterday) this.#cursors.delete(other)
      }
    }
    return cursor
  }

  async #append(path: string, entry: Pending): Promise<void> {
    const folder = dirname(path)
    try {
      if (!this.#madeFolders.has(folder)) {
        await mkdir(folder, { recursive: true })
        this.#madeFolders.add(folder)
      }
      await appendFile(path, this.#brokenFiles.has(path) ? `\n${entry.text}` : entry.text)
      this.#brokenFiles.delete(path)
      if (this.#queue.length < this.#options.maxQueue) this.#recover()
    } catch (error) {
      // The folder may have been removed under us: make it again next time.
      this.#madeFolders.delete(folder)
      this.#brokenFiles.add(path)
      this.#lose(entry.count, 'writing failed', `chatLog: cannot write ${path}: ${(error as Error).message}. Requests are served as usual; their records are dropped until a write succeeds (reported once)`)
    }
  }

  /** Counts lost records; reports only the first loss of a spell of trouble. */
  #lose(count: number, trouble: string, message: string): void {
    this.#lost += count
    if (this.#trouble) return
    this.#trouble = trouble
    this.log.error(message)
  }

  #recover(): void {
    if (!this.#trouble) return
    this.log.warn(`chatLog: records are written again; ${this.#lost} were lost while ${this.#trouble}`)
    this.#trouble = undefined
    this.#lost = 0
  }
}
