import type { ForwardPlugin } from './types.ts'

// Symbol.for, not a module-level variable: a config file may import its own copy of this package
// (jiti evaluates it afresh on `aifd dev` reloads), and the loader and the factories must agree.
const COLLECTING = Symbol.for('openai-forward.collectPluginErrors')
const FAILURE = Symbol.for('openai-forward.pluginFailure')

type Global = typeof globalThis & { [COLLECTING]?: number }

/**
 * Runs `load` (the evaluation of a config file) with plugin factories in collecting mode: a factory
 * that refuses its options returns a placeholder holding the error instead of throwing, so the
 * config still evaluates, and the resolver reports the error at the plugin's position
 * (`routes.openai.plugins[0] (chatLog).folder`) along with every other problem of the file.
 * Outside it (a factory called in a test or a script) the factory throws as usual.
 */
export async function collectingPluginErrors<T>(load: () => Promise<T>): Promise<T> {
  const global = globalThis as Global
  global[COLLECTING] = (global[COLLECTING] ?? 0) + 1
  try {
    return await load()
  } finally {
    global[COLLECTING]! -= 1
  }
}

/** Whether a factory that fails should return a placeholder (see `collectingPluginErrors`). */
export function collectingNow(): boolean {
  return ((globalThis as Global)[COLLECTING] ?? 0) > 0
}

/**
 * The name a factory's error gives its plugin: field paths in a factory start with it
 * (`chatLog.folder`, or the built-ins' `plugins.chatLog.folder`).
 */
export function pluginNameOf(field: string): string {
  return /^(?:plugins\.)?([^.[\s]+)/.exec(field)?.[1] ?? 'plugin'
}

/** A plugin standing in for one whose factory threw; it refuses to start if it ever gets that far. */
export function failedPlugin(error: unknown): ForwardPlugin {
  const field = typeof (error as { field?: unknown })?.field === 'string' ? (error as { field: string }).field : ''
  return {
    name: pluginNameOf(field),
    [FAILURE]: error,
    setup() {
      throw error
    },
  } as ForwardPlugin
}

/** The error a placeholder from `failedPlugin` holds, if `plugin` is one. */
export function failureOf(plugin: object): unknown {
  return (plugin as { [FAILURE]?: unknown })[FAILURE]
}
