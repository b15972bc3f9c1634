import type { ForwardConfig } from './types.ts'

/**
 * Declares a gateway config. An identity function: it exists so that editors autocomplete
 * and type-check `forward.config.ts`. Values are validated again when the file is loaded.
 */
export function defineForwardConfig(config: ForwardConfig): ForwardConfig {
  return config
}
