import { resolve } from 'node:path'
import { assertConfig, checkKnownKeys, definePlugin, parseDuration, parseSize, requestSlot, type ResolvedRoute } from '../../src/index.ts'
import { kindOfPath } from './kind.ts'
import { buildRecord } from './record.ts'
import { compileRedaction } from './redact.ts'
import { CHAT_LOG_KINDS, type ChatLogKind, type ChatLogOptions } from './types.ts'
import { ChatLogWriter } from './writer.ts'

export type { ChatLogAnswer, ChatLogKind, ChatLogOptions, ChatLogRecord, RedactFunction, RedactRule, RedactStep } from './types.ts'
export { CHAT_LOG_KINDS } from './types.ts'

const KNOWN = ['dir', 'maxFileSize', 'flushInterval', 'kinds', 'maxQueue', 'print', 'redact']
const HINTS = { folder: 'dir', directory: 'dir', path: 'dir', logDir: 'dir', log_dir: 'dir' }

/** What `onRequest` learnt, for `onResponse`: the request's kind and its parsed JSON body. */
interface Seen {
  kind: ChatLogKind
  request: unknown
}

/** Routes whose bodies the gateway understands: OpenAI routes and general routes with a dialect. */
function understood(route: ResolvedRoute): boolean {
  return route.type === 'openai' || route.dialect !== undefined
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / 1024 / 1024} MB` : bytes % 1024 === 0 ? `${bytes / 1024} KB` : `${bytes} B`
}

/**
 * Records what the models were asked and what they answered: one JSON line per exchange under
 * `<dir>/<route>/<kind>/<date>.jsonl`, written in batches off the response path.
 */
export const chatLog = definePlugin((options: ChatLogOptions = {}) => {
  assertConfig(options !== null && typeof options === 'object', 'plugins.chatLog', 'options must be an object')
  checkKnownKeys(options, KNOWN, 'plugins.chatLog', HINTS)
  assertConfig(options.dir === undefined || (typeof options.dir === 'string' && options.dir.trim() !== ''), 'plugins.chatLog.dir', 'must be a folder path')
  const maxFileSize = parseSize(options.maxFileSize ?? '50mb')
  assertConfig(maxFileSize !== undefined && maxFileSize > 0, 'plugins.chatLog.maxFileSize', `"${options.maxFileSize}" is not a size like "50mb" or a number of bytes`)
  const flushIntervalMs = parseDuration(options.flushInterval ?? '1s')
  assertConfig(flushIntervalMs !== undefined && flushIntervalMs > 0, 'plugins.chatLog.flushInterval', `"${options.flushInterval}" is not a duration like "1s" or a number of ms`)
  const maxQueue = options.maxQueue ?? 100_000
  assertConfig(Number.isInteger(maxQueue) && maxQueue > 0, 'plugins.chatLog.maxQueue', 'must be a positive integer')
  assertConfig(options.print === undefined || typeof options.print === 'boolean', 'plugins.chatLog.print', 'must be true or false')
  assertConfig(options.kinds === undefined || (Array.isArray(options.kinds) && options.kinds.every((kind) => CHAT_LOG_KINDS.includes(kind))), 'plugins.chatLog.kinds', `must list kinds among ${CHAT_LOG_KINDS.join(', ')}`)
  const kinds = new Set<ChatLogKind>(options.kinds ?? CHAT_LOG_KINDS)
  const redact = compileRedaction(options.redact)
  const dir = resolve(options.dir ?? 'Log')

  const writer = new ChatLogWriter({ dir, maxFileSize, flushIntervalMs, maxQueue, redact, print: options.print ?? false })
  const seen = requestSlot<Seen>('chatLog seen')

  return {
    name: 'chatLog',
    describe: () => `${options.dir ?? 'Log'}/ · files up to ${formatBytes(maxFileSize)} · flush every ${flushIntervalMs} ms${kinds.size < CHAT_LOG_KINDS.length ? ` · ${[...kinds].join(', ')}` : ''}${options.print ? ' · print' : ''}${redact ? ' · redacted' : ''}`,

    setup(ctx) {
      writer.log = ctx.log
      if (ctx.route && !understood(ctx.route)) {
        ctx.log.warn(`route ${ctx.route.name} is a general route without a dialect: chatLog records nothing there`)
      }
      // Shutdown and reload land here: what is queued reaches the disk before the process goes.
      return () => writer.close()
    },

    async onRequest(ctx) {
      if (!understood(ctx.route)) return
      const kind = kindOfPath(ctx.upstreamPath, ctx.route.dialect)
      if (!kinds.has(kind)) return
      // Parsing makes the body known to the record; the kernel then sends the text it read, unchanged.
      seen.set(ctx, { kind, request: ctx.hasJsonBody ? await ctx.json() : undefined })
    },

    onResponse(ctx, result) {
      if (!understood(ctx.route)) return
      // Without `seen`, an earlier plugin answered first (401, 429, a cache hit): still worth a record.
      const kind = seen.get(ctx)?.kind ?? kindOfPath(ctx.upstreamPath, ctx.route.dialect)
      if (!kinds.has(kind)) return
      const request = seen.get(ctx)?.request
      writer.push(buildRecord(ctx, result, kind, request), request === undefined ? undefined : result.requestText)
    },
  }
})
