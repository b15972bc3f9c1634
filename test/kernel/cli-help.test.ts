// `--help` reads well: value hints that say what a flag takes, and colour only on a terminal.
import { execFileSync, spawnSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { AIFD, ROOT } from '../helpers/cli.ts'

const ESC = '\u001b['
/** `script` (util-linux) runs a command on a pseudo-terminal, as a user's shell would. */
const hasScript = spawnSync('script', ['--version']).status === 0

/** A user's environment: vitest sets TEST (and CI may be set), which turn citty's colours off by themselves. */
function userEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  for (const name of ['TEST', 'CI', 'NO_COLOR', 'FORCE_COLOR']) if (!(name in extra)) delete env[name]
  return env
}

function help(args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, [AIFD, ...args], { cwd: ROOT, encoding: 'utf8', env: userEnv(env) })
}

function helpOnTerminal(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const command = [process.execPath, AIFD, ...args].map((a) => `'${a}'`).join(' ')
  return execFileSync('script', ['-qec', command, '/dev/null'], { cwd: ROOT, encoding: 'utf8', env: userEnv(env) })
}

describe('aifd --help', () => {
  it('shows what each flag takes, in words', () => {
    const convert = help(['convert', '--help'])
    expect(convert).toContain('--log-dir=<dir>')
    expect(convert).toContain('--out=<file>')
    expect(convert).toContain('--route=<name>')
    expect(convert).not.toMatch(/<log_dir>/)
    const run = help(['run', '--help'])
    for (const hint of ['--config=<file>', '--port=<port>', '--host=<host>', '--workers=<n|auto>']) expect(run).toContain(hint)
  })

  it('writes no colour codes when piped', () => {
    for (const args of [['--help'], ['run', '--help'], ['convert', '--help']]) expect(help(args)).not.toContain(ESC)
  })

  it.skipIf(!hasScript)('colours it on a terminal, unless NO_COLOR is set', () => {
    expect(helpOnTerminal(['convert', '--help'])).toContain(`${ESC}36m--log-dir=<dir>`)
    expect(helpOnTerminal(['convert', '--help'], { NO_COLOR: '1' })).not.toContain(ESC)
  })
})
