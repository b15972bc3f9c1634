import { randomBytes } from 'node:crypto'
import { copyFile, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, extname, join } from 'node:path'
import type { ResolvedConfig } from '../index.ts'

export interface ConfigEditorOptions {
  /** The config file being edited (absolute). */
  file: string
  /** Loads and validates a config file exactly as the gateway does (CLI overrides included). */
  load: (file: string) => Promise<ResolvedConfig>
  /**
   * Puts a validated config into service. Returns `false` when something else does it (the dev
   * file watcher). Throws when the gateway refused it (a plugin's setup failed).
   */
  apply: (config: ResolvedConfig) => Promise<boolean>
}

/** Why a save was refused: the loader's message, naming the original file. */
export class ConfigRejected extends Error {
  override name = 'ConfigRejected'
}

/**
 * Edits the config file from the dashboard; the file stays the one source of truth. A save is
 * validated with the gateway's own loader on a temporary file next to the original (so its relative
 * imports and `.env` resolve the same), and only then replaces the original, atomically by rename,
 * keeping the previous file as `<name>.bak`.
 *
 * Loading runs the file: a save executes the code typed into the editor, by design. That is why the
 * editor is off unless `webui.editConfig` is set, and needs the admin token.
 */
export class ConfigEditor {
  #queue: Promise<unknown> = Promise.resolve()
  constructor(readonly options: ConfigEditorOptions) {}

  read(): Promise<string> {
    return readFile(this.options.file, 'utf8')
  }

  /** Validates and writes `source`, then reloads. Saves run one at a time. */
  save(source: string): Promise<{ reloaded: boolean }> {
    const run = this.#queue.then(() => this.#save(source))
    this.#queue = run.catch(() => {})
    return run
  }

  async #save(source: string): Promise<{ reloaded: boolean }> {
    const { file } = this.options
    const temp = join(dirname(file), `.${basename(file, extname(file))}.${randomBytes(4).toString('hex')}.tmp${extname(file)}`)
    const backup = `${file}.bak`
    let config: ResolvedConfig
    try {
      await writeFile(temp, source)
      try {
        config = await this.options.load(temp)
      } catch (error) {
        throw new ConfigRejected((error as Error).message.replaceAll(temp, file))
      }
      await copyFile(file, backup)
      await rename(temp, file)
    } finally {
      await rm(temp, { force: true })
    }
    try {
      return { reloaded: await this.options.apply({ ...config, configFile: file }) }
    } catch (error) {
      // The gateway would not take it: put the previous file back, so the file still says what is served.
      await copyFile(backup, file)
      throw new ConfigRejected(`the config loaded but the gateway could not start it, so the previous file was restored: ${(error as Error).message}`)
    }
  }
}
