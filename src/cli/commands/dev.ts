import { defineCommand } from 'citty'
import { serveArgs } from '../args.ts'
import { serve } from '../serve.ts'

export default defineCommand({
  meta: { name: 'dev', description: 'Serve with hot reload of the config and of the plugin files it imports' },
  args: serveArgs,
  run: async ({ args }) => void (await serve({ config: args.config, port: args.port, host: args.host, webui: args.webui, mode: 'dev' })),
})
