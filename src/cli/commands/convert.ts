import { defineCommand } from 'citty'

export default defineCommand({
  meta: { name: 'convert', description: 'Turn chat logs (JSONL) into a JSON array of conversations' },
  args: {
    'log-dir': { type: 'string', description: 'Folder of the chat logs', default: 'Log' },
    out: { type: 'string', description: 'Output file (- for stdout)' },
    route: { type: 'string', description: 'Only this route' },
  },
  async run({ args }) {
    const { convertLogs } = await import('../convert.ts')
    const result = await convertLogs({ logDir: args['log-dir'], out: args.out, route: args.route } as never)
    console.error(`converted ${JSON.stringify(result)}`)
  },
})
