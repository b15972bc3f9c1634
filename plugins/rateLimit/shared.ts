import type { SetupContext } from '../../src/index.ts'

const warned = new Set<string>()

/**
 * Warns once per process and plugin that memory (or fs) counters are this process's own: with
 * `--workers` or several instances, each one enforces the limits separately.
 */
export function warnIfPerProcess(setup: SetupContext, plugin: string): void {
  if (setup.storage.shared) return
  const name = setup.storage.driver
  const key = `${plugin}:${name}`
  if (warned.has(key)) return
  warned.add(key)
  setup.log.warn(`limits are counted per process (storage driver "${name}"): several workers or instances each enforce them separately; use storage: { driver: 'redis' } to share them`)
}
