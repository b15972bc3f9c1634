#!/usr/bin/env node
// The CLI runs from the compiled output; `npm ci` builds it (prepare script).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/src/cli/index.js', import.meta.url)
if (!existsSync(entry)) {
  console.error('aifd: dist/ is missing. Run `npm run build` (npm ci runs it for you).')
  process.exit(1)
}
const { runCli } = await import(entry.href)
runCli()
