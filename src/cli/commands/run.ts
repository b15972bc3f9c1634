import { defineCommand } from 'citty'
import { serveArgs } from '../args.ts'
import { serveWithWorkers } from '../workers.ts'

export default defineCommand({
  meta: { name: 'run', description: 'Serve the gateway (production: no watchers, JSON logs when stdout is not a terminal)' },
  args: serveArgs,
  run: ({ args }) => serveWithWorkers({ config: args.config, port: args.port, host: args.host, webui: args.webui, mode: 'run' }, args.workers),
})
