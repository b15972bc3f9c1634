import { stripVTControlCharacters } from 'node:util'
import { renderUsage, type CommandDef } from 'citty'

/** Colour only for a terminal, and never when `NO_COLOR` is set to anything non-empty (no-color.org). */
export function wantsColour(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb'
}

/** Prints a command's `--help`; citty colours it even when piped, so the codes are removed there. */
// citty's own type for this parameter is CommandDef<any>: a command of any args.
export async function showUsage(cmd: CommandDef<any>, parent?: CommandDef<any>): Promise<void> {
  const text = await renderUsage(cmd, parent)
  console.log(`${wantsColour() ? text : stripVTControlCharacters(text)}\n`)
}
