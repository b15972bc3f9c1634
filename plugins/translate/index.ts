import { ConfigError, definePlugin, type ForwardPlugin } from '../../src/index.ts'
import { anthropicClients } from './anthropic-clients.ts'
import { openaiClients } from './openai-clients.ts'
import { resolveTranslateOptions, type TranslateOptions } from './options.ts'

export type { Provider, TranslateOptions } from './options.ts'

/**
 * Translates between APIs on one route. `translate({ to: 'anthropic' | 'gemini' })`: OpenAI clients
 * (the official SDK, changing only the base URL and the model name) served by Anthropic or Gemini.
 * Every other plugin on the route sees OpenAI's shape: the request as the client sent it, the answer
 * and usage translated. `translate({ from: 'anthropic' })`: Anthropic clients served by an
 * OpenAI-compatible target. Put it after `keys`, which then writes the real key where the
 * provider wants it.
 */
export const translate = definePlugin((options: TranslateOptions) => {
  const settings = resolveTranslateOptions(options)
  const plugin: ForwardPlugin = settings.direction === 'to' ? openaiClients(settings) : anthropicClients(settings)
  plugin.setup = ({ route }) => {
    if (!route) throw new ConfigError('plugins.translate', 'goes on a route (routes.<name>.plugins), not on every route')
    if (settings.direction === 'to' && route.type !== 'openai') throw new ConfigError(`routes.${route.name}.type`, "must be 'openai' for translate({ to }): its clients speak OpenAI's API")
    if (settings.direction === 'from' && (route.type !== 'general' || route.dialect !== 'anthropic')) {
      throw new ConfigError(`routes.${route.name}`, "must be type: 'general', dialect: 'anthropic' for translate({ from: 'anthropic' }): its clients speak Anthropic's API")
    }
    const names = route.plugins.map((p) => p.name)
    if (names.lastIndexOf('keys') > names.indexOf('translate')) {
      throw new ConfigError(`routes.${route.name}.plugins`, 'put keys before translate: translate moves the key keys writes to where the provider wants it')
    }
  }
  return plugin
})
