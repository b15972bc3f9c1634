import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const repo = new URL('../..', import.meta.url).pathname

/**
 * Compiles src, plugins and the mock (tsconfig.build.json) into a private folder for child
 * processes: Node 20 cannot run .ts, and the shared dist/ may be stale or mid-build by others.
 * Inside node_modules so the compiled files resolve the repo's packages; emits even when files
 * outside chatLog have type errors (others' work in progress).
 */
export function buildForChildren(name: string): string {
  const out = join(repo, 'node_modules', '.cache', `aifd-${name}`)
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  try {
    execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(repo, 'tsconfig.build.json'), '--outDir', out, '--noEmitOnError', 'false'], { cwd: repo, stdio: 'pipe' })
  } catch {
    // Type errors elsewhere still emit; what matters is that our files exist.
  }
  for (const file of ['src/index.js', 'plugins/chatLog/index.js', 'src/cli/convert.js']) {
    if (!existsSync(join(out, file))) throw new Error(`the build did not produce ${file}`)
  }
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n')
  return out
}
