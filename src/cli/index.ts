import { defineCommand, runMain } from 'citty'
import { showUsage } from './usage.ts'
import { packageVersion } from './version.ts'

/** The `aifd` command. Subcommands load lazily, so `aifd --help` stays fast. */
export const main = defineCommand({
  meta: { name: 'aifd', version: packageVersion(), description: 'openai-forward: an efficient forwarding gateway for LLM APIs' },
  subCommands: {
    run: () => import('./commands/run.ts').then((m) => m.default),
    dev: () => import('./commands/dev.ts').then((m) => m.default),
    init: () => import('./commands/init.ts').then((m) => m.default),
    convert: () => import('./commands/convert.ts').then((m) => m.default),
    keys: () => import('./commands/keys.ts').then((m) => m.default),
  },
})

/** Runs the CLI; a config error is printed as one clear message, not a stack trace. */
export function runCli(): void {
  process.on('unhandledRejection', (error) => {
    console.error(error instanceof Error && error.name === 'ConfigError' ? `aifd: ${error.message}` : error)
    process.exit(1)
  })
  void runMain(main, { showUsage })
}
