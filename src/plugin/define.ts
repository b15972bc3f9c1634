import { collectingNow, failedPlugin } from './failed.ts'
import type { ForwardPlugin, PluginFactory } from './types.ts'

/**
 * Defines a plugin factory: options in, plugin out. Check options in the factory and throw
 * `ConfigError` naming the field (start it with the plugin's name: `blockModels.models`; use
 * `checkKnownKeys` for misspelled options), so a bad option fails when the config loads, not on the
 * first request. Called directly, the factory throws; while a config file loads, its error is kept
 * and reported with the plugin's position in the config (`routes.openai.plugins[1] (blockModels).models`)
 * together with every other problem of the file.
 */
export function definePlugin<Options = void>(factory: (options: Options) => ForwardPlugin): PluginFactory<Options> {
  return ((options: Options) => {
    try {
      return factory(options)
    } catch (error) {
      if (!collectingNow()) throw error
      return failedPlugin(error)
    }
  }) as PluginFactory<Options>
}
