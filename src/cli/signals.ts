/**
 * Runs `shutdown` on the first SIGTERM/SIGINT, then exits 0; a second signal exits at once.
 * `shutdown` should stop accepting, let in-flight requests finish and flush logs.
 */
export function onShutdownSignal(shutdown: () => Promise<void>, log: { info(msg: string): void; warn(msg: string): void }): void {
  let stopping = false
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`)
      process.exit(130)
    }
    stopping = true
    log.info(`${signal}: finishing in-flight requests…`)
    shutdown().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGTERM', handler)
  process.on('SIGINT', handler)
}
