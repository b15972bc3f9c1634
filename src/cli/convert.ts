import { createReadStream, createWriteStream } from 'node:fs'
import { readdir, rename, rm, stat } from 'node:fs/promises'
import { once } from 'node:events'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import type { ChatLogRecord } from '../../plugins/chatLog/types.ts'
import { folderName, sortLogFileNames } from '../../plugins/chatLog/files.ts'
import type { ToolCall } from '../gateway/assemble.ts'

/** One conversation in the original openai-forward's `chat_<route>.json` format. */
export interface ConvertedChat {
  /** When the request arrived (ISO 8601, UTC). */
  datetime: string
  ip: string
  model: string | null
  temperature: number | null
  messages: unknown[]
  tools: unknown[] | null
  /** Whether the assistant answered with tool calls instead of text. */
  is_tool_calls: boolean
  /** The assistant's text, or its tool calls when `is_tool_calls`. */
  assistant: string | ToolCall[]
}

export interface ConvertProgress {
  /** The file being read. */
  file: string
  /** Bytes read so far, across all files. */
  bytesRead: number
  totalBytes: number
  /** Conversations written so far. */
  records: number
}

export interface ConvertOptions {
  /** Folder of the chat logs (the chatLog plugin's `dir`), e.g. `Log`. */
  logDir: string
  /**
   * Output file, or `-` for stdout. Default `<logDir>/chat_<route>.json`: one file per route when no
   * route is named. The file appears only when complete (written to a temporary name, then renamed).
   */
  out?: string
  /** Only this route's logs. Default every route. */
  route?: string
  /**
   * Called as files are read. Default: a progress bar on stderr when it is a terminal, else a line
   * per 10%, for logs over 8 MB. `false` for none.
   */
  onProgress?: ((progress: ConvertProgress) => void) | false
}

/** A line that could not be read, for the report. */
export interface CorruptLine {
  file: string
  /** 1-based line number. */
  line: number
  reason: string
}

export interface ConvertResult {
  /** Conversations written. */
  records: number
  /** Corrupt lines skipped. */
  skipped: number
  /** Log files read. */
  files: number
  /** Records read but not conversations (failed, aborted, or without messages and answer). */
  ignored: number
  /** The first few corrupt lines, with where they are. */
  corrupt: CorruptLine[]
  /** Files written (`-` for stdout). */
  outputs: string[]
}

/** Corrupt lines listed in the result (all are counted). */
const CORRUPT_LISTED = 5
/** Output is written in pieces of about this size. */
const WRITE_CHUNK = 64 * 1024
/** Progress is reported at most once per this many bytes read. */
const PROGRESS_STEP = 1024 * 1024
/** Logs smaller than this convert too fast to need a progress display. */
const LARGE_LOGS = 8 * 1024 * 1024

/**
 * A chat log record as a conversation, or `undefined` when it is not one: only complete, successful
 * chat exchanges with `messages` and an answer. The first choice is the assistant's answer.
 */
export function toConversation(record: ChatLogRecord): ConvertedChat | undefined {
  if (record.kind !== 'chat' || record.outcome !== 'complete' || record.status >= 400) return undefined
  const request = record.request
  const messages = request?.messages
  const choice = record.answer?.choices?.[0]
  if (!Array.isArray(messages) || !choice) return undefined
  const toolCalls = Array.isArray(choice.toolCalls) ? choice.toolCalls : []
  return {
    datetime: record.time,
    ip: record.ip,
    model: record.model,
    temperature: typeof request!.temperature === 'number' ? request!.temperature : null,
    messages,
    tools: Array.isArray(request!.tools) ? request!.tools : null,
    is_tool_calls: toolCalls.length > 0,
    assistant: toolCalls.length > 0 ? toolCalls : choice.content,
  }
}

/** Writes a JSON array one element at a time, in chunks, waiting whenever the stream asks to. */
class JsonArrayWriter {
  #buffer = '['
  #first = true
  #error: Error | undefined
  constructor(readonly stream: Writable) {
    // Kept and thrown from the next write: an unhandled 'error' (disk full, EPIPE) would crash the process.
    stream.on('error', (error) => (this.#error ??= error))
  }

  async add(value: unknown): Promise<void> {
    this.#buffer += `${this.#first ? '\n' : ',\n'}${JSON.stringify(value)}`
    this.#first = false
    if (this.#buffer.length >= WRITE_CHUNK) await this.#drain()
  }

  async end(): Promise<void> {
    this.#buffer += this.#first ? ']\n' : '\n]\n'
    await this.#drain()
  }

  async #drain(): Promise<void> {
    if (this.#error) throw this.#error
    const chunk = this.#buffer
    this.#buffer = ''
    if (!this.stream.write(chunk)) await once(this.stream, 'drain')
  }
}

interface Job {
  /** Where the array goes: a path, or `-`. */
  out: string
  files: string[]
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false)
}

/** The chat log files of one route folder, in the order they were written. */
async function chatFiles(logDir: string, routeFolder: string): Promise<string[]> {
  const folder = join(logDir, routeFolder, 'chat')
  const names = await readdir(folder).catch(() => [] as string[])
  return sortLogFileNames(names).map((name) => join(folder, name))
}

async function planJobs(logDir: string, options: ConvertOptions): Promise<Job[]> {
  if (!(await isDirectory(logDir))) throw new Error(`No chat logs: ${logDir} is not a folder (the chatLog plugin's \`dir\`, default Log)`)
  const entries = await readdir(logDir, { withFileTypes: true })
  const routes = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort()
  if (options.route !== undefined) {
    const folder = folderName(options.route)
    if (!routes.includes(folder)) {
      throw new Error(`No logs for route "${options.route}" in ${logDir}${routes.length ? ` (routes with logs: ${routes.join(', ')})` : ''}`)
    }
    const files = await chatFiles(logDir, folder)
    return [{ out: options.out ?? join(logDir, `chat_${folder}.json`), files }]
  }
  const perRoute = await Promise.all(routes.map(async (route) => ({ route, files: await chatFiles(logDir, route) })))
  const withLogs = perRoute.filter((entry) => entry.files.length > 0)
  if (withLogs.length === 0) throw new Error(`No chat logs in ${logDir} (expected <route>/chat/<date>.jsonl files)`)
  if (options.out !== undefined) return [{ out: options.out, files: withLogs.flatMap((entry) => entry.files) }]
  return withLogs.map((entry) => ({ out: join(logDir, `chat_${entry.route}.json`), files: entry.files }))
}

/** Reads one log file line by line into `output`, counting into `result`. Returns the bytes read. */
async function convertFile(file: string, output: JsonArrayWriter, result: ConvertResult, progress: (bytesRead: number) => void): Promise<number> {
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 })
  const lines = createInterface({ input, crlfDelay: Infinity })
  let lineNumber = 0
  let reported = 0
  try {
    for await (const line of lines) {
      lineNumber++
      if (input.bytesRead - reported >= PROGRESS_STEP) {
        reported = input.bytesRead
        progress(input.bytesRead)
      }
      if (line.trim() === '') continue
      let record: ChatLogRecord
      try {
        record = JSON.parse(line)
        if (record === null || typeof record !== 'object' || typeof record.kind !== 'string' || typeof record.time !== 'string') throw new Error('not a chat log record')
      } catch (error) {
        result.skipped++
        if (result.corrupt.length < CORRUPT_LISTED) result.corrupt.push({ file, line: lineNumber, reason: (error as Error).message })
        continue
      }
      const chat = toConversation(record)
      if (!chat) {
        result.ignored++
        continue
      }
      await output.add(chat)
      result.records++
    }
  } finally {
    input.destroy()
  }
  return input.bytesRead
}

/**
 * Converts chat logs (JSONL, as the chatLog plugin writes them) into JSON arrays of conversations,
 * streaming: memory stays flat whatever the size of the logs. Corrupt lines are skipped, counted and
 * listed (the first few), never fatal.
 */
export async function convertLogs(options: ConvertOptions): Promise<ConvertResult> {
  const logDir = resolve(options.logDir)
  const jobs = await planJobs(logDir, options)
  const sizes = await Promise.all(jobs.flatMap((job) => job.files).map((file) => stat(file).then((s) => s.size, () => 0)))
  const totalBytes = sizes.reduce((sum, size) => sum + size, 0)
  const onProgress = options.onProgress === false ? undefined : (options.onProgress ?? progressReporter(process.stderr, LARGE_LOGS))
  const result: ConvertResult = { records: 0, skipped: 0, files: 0, ignored: 0, corrupt: [], outputs: [] }
  let doneBytes = 0

  for (const job of jobs) {
    const toStdout = job.out === '-'
    const target = toStdout ? '-' : resolve(job.out)
    const temporary = `${target}.${process.pid}.tmp`
    const stream: Writable = toStdout ? process.stdout : createWriteStream(temporary)
    const output = new JsonArrayWriter(stream)
    try {
      for (const file of job.files) {
        result.files++
        const report = (bytesRead: number) => onProgress?.({ file, bytesRead: doneBytes + bytesRead, totalBytes, records: result.records })
        doneBytes += await convertFile(file, output, result, report)
        report(0)
      }
      await output.end()
      if (!toStdout) {
        stream.end()
        await finished(stream)
        await rename(temporary, target)
      }
      result.outputs.push(target)
    } catch (error) {
      if (!toStdout) {
        stream.destroy()
        await rm(temporary, { force: true })
      }
      throw error
    }
  }
  return result
}

/**
 * The default progress display, for logs of at least `minBytes`: a redrawn bar when `stream` is a
 * terminal, else one line per 10% (log files and CI).
 */
export function progressReporter(stream: NodeJS.WriteStream, minBytes = LARGE_LOGS): (progress: ConvertProgress) => void {
  let lastDraw = 0
  let lastTenth = 0
  let finished = false
  const megabytes = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)
  return ({ bytesRead, totalBytes, records }) => {
    if (finished || totalBytes < minBytes) return
    const done = bytesRead >= totalBytes
    const ratio = Math.min(1, bytesRead / totalBytes)
    if (stream.isTTY) {
      const now = Date.now()
      if (!done && now - lastDraw < 100) return
      lastDraw = now
      const width = 30
      const filled = Math.round(ratio * width)
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${megabytes(bytesRead)}/${megabytes(totalBytes)} MB · ${records} conversations${done ? '\n' : ''}`)
    } else {
      const tenth = Math.floor(ratio * 10)
      if (tenth <= lastTenth && !done) return
      lastTenth = tenth
      stream.write(`converting chat logs: ${(ratio * 100).toFixed(0)}% (${megabytes(bytesRead)} of ${megabytes(totalBytes)} MB, ${records} conversations)\n`)
    }
    finished = done
  }
}

/** A short report of a conversion, for the CLI: counts, outputs and where the first corrupt lines are. */
export function formatConvertReport(result: ConvertResult): string {
  const lines = [`${result.records} conversations from ${result.files} files → ${result.outputs.join(', ') || '(nothing)'}`]
  if (result.ignored > 0) lines.push(`${result.ignored} records were not complete chat exchanges and were left out`)
  if (result.skipped > 0) {
    lines.push(`${result.skipped} corrupt lines skipped${result.skipped > result.corrupt.length ? `; the first ${result.corrupt.length}:` : ':'}`)
    for (const corrupt of result.corrupt) lines.push(`  ${corrupt.file}:${corrupt.line}: ${corrupt.reason}`)
  }
  return lines.join('\n')
}
