import type { ForwardPlugin, PluginFactory } from './types.ts'

/**
 * Defines a plugin factory: options in, plugin out. An identity function that exists for types and
 * editor help. Check options in the factory and throw `ConfigError` naming the field, so a bad
 * option fails when the config loads, not on the first request.
 */
export function definePlugin<Options = void>(factory: (options: Options) => ForwardPlugin): PluginFactory<Options> {
  return factory as PluginFactory<Options>
}
