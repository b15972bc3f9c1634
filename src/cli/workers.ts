import cluster from 'node:cluster'
import { availableParallelism } from 'node:os'
import { serve, type ServeOptions } from './serve.ts'

/** Parses `--workers`: a positive number or `auto` (one per core). */
export function workerCount(value: string | undefined): number {
  if (value === undefined || value === '') return 1
  if (value === 'auto') return availableParallelism()
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`--workers: must be a positive number or "auto", got "${value}"`)
  return n
}

/**
 * Serves in this process, or with `--workers N` forks N workers that share the port (node:cluster);
 * the primary restarts a worker that dies and forwards SIGTERM/SIGINT for a graceful stop.
 */
export async function serveWithWorkers(options: ServeOptions, workers: string | undefined): Promise<void> {
  const count = cluster.isWorker ? Number(process.env.AIFD_WORKERS ?? 1) : workerCount(workers)
  if (count === 1 || cluster.isWorker) {
    await serve({ ...options, workers: count, banner: cluster.isWorker ? cluster.worker?.id === 1 : true })
    return
  }
  let stopping = false
  const fork = () => cluster.fork({ AIFD_WORKERS: String(count) })
  for (let i = 0; i < count; i++) fork()
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    console.error(`aifd: worker ${worker.process.pid} exited (${signal ?? code}); starting a new one`)
    fork()
  })
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130)
    stopping = true
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal)
    const waitAll = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        clearInterval(waitAll)
        process.exit(0)
      }
    }, 50)
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
