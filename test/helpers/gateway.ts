import type { ConsolaInstance } from 'consola'
import { resolveConfig, startGateway, type ForwardConfig, type RunningGateway } from '../../src/index.ts'
import { createLogger } from '../../src/logger.ts'

export interface TestGateway extends RunningGateway {
  /** Closes at once (no grace period). */
  stop(): Promise<void>
}

/**
 * Starts a real gateway on a free loopback port, in this process, for a config object.
 * Logs go to `options.log`, else nowhere unless AIFD_TEST_LOGS=1.
 */
export async function startTestGateway(config: ForwardConfig, options: { log?: ConsolaInstance } = {}): Promise<TestGateway> {
  const resolved = resolveConfig({ ...config, server: { port: 0, host: '127.0.0.1', ...config.server } })
  const log = options.log ?? createLogger(process.env.AIFD_TEST_LOGS ? 'debug' : 'silent', false)
  const running = await startGateway(resolved, { log })
  return Object.assign(running, { stop: async () => void (await running.close(0)) })
}
