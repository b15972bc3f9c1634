import { defineCommand } from 'citty'

export default defineCommand({
  meta: { name: 'convert', description: 'Turn chat logs (JSONL) into a JSON array of conversations, the original openai-forward format' },
  args: {
    'log-dir': { type: 'string', valueHint: 'dir', description: 'Folder of the chat logs', default: 'Log' },
    out: { type: 'string', valueHint: 'file', description: 'Output file, or - for stdout (default: <log-dir>/chat_<route>.json per route)' },
    route: { type: 'string', valueHint: 'name', description: 'Only this route' },
  },
  async run({ args }) {
    const { convertLogs, formatConvertReport } = await import('../convert.ts')
    try {
      const result = await convertLogs({ logDir: args['log-dir'], out: args.out, route: args.route })
      console.error(formatConvertReport(result))
    } catch (error) {
      console.error(`aifd convert: ${(error as Error).message}`)
      process.exitCode = 1
    }
  },
})
