import type { SetupContext } from '../../src/index.ts'

type Logger = SetupContext['log']

/** Longest wait for the counters' storage before the request is treated as "storage unavailable". */
const STORAGE_TIMEOUT_MS = 1500

const TIMED_OUT = Symbol('timed out')

/**
 * Runs counter operations against storage that may be down (Redis). A failure is reported once per
 * outage (a warning when it starts, a note when it ends), never cached: the next request tries
 * again, so the limits come back by themselves when Redis does (its client reconnects).
 */
export class StorageGuard {
  #down = false
  #log: Logger | undefined

  constructor(private readonly plugin: string) {}

  /** The logger from `setup`, for outage messages that belong to no single request. */
  attach(log: Logger): void {
    this.#log = log
  }

  /**
   * The operation's result, or `undefined` when the storage failed or did not answer in time.
   * `local`: the storage is this process's memory (not shared), so no timeout is needed.
   * An operation that times out may still complete later: it then counts a request that was let
   * through (fail open) or refused (fail closed); both err on the safe side.
   */
  async run<T>(operation: () => Promise<T>, log: Logger, failOpen: boolean, local = false): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined
    try {
      // In-process counters answer at once and cannot go away: no timer to arm per request.
      const result = local
        ? await operation()
        : await Promise.race([operation(), new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(resolve, STORAGE_TIMEOUT_MS, TIMED_OUT)))])
      if (result === TIMED_OUT) throw new Error(`no answer within ${STORAGE_TIMEOUT_MS} ms`)
      if (this.#down) {
        this.#down = false
        ;(this.#log ?? log).info(`${this.plugin}: storage reachable again; limits are enforced again`)
      }
      return result
    } catch (error) {
      if (!this.#down) {
        this.#down = true
        const mode = failOpen ? 'requests are let through unlimited (failOpen)' : 'requests are refused with 503 (failOpen: false)'
        ;(this.#log ?? log).warn(`${this.plugin}: storage unreachable (${(error as Error).message}); ${mode} until it answers again`)
      }
      return undefined
    } finally {
      clearTimeout(timer)
    }
  }
}
