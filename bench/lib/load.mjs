// One autocannon run in a fresh child process: the load generator's own state (its heap, its GC,
// what earlier runs left behind) then cannot carry over from one measured run to the next, which
// it did in-process (a target measured after others got a slower client, and fewer requests per
// wakeup). The child prints autocannon's result as JSON, with the wall time of the run itself.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'load-child.mjs')

/**
 * @param {{ url: string, method: 'POST' | 'GET', headers: Record<string, string>, body?: string, connections: number, duration: number, pipelining?: number, timeout?: number }} options
 * @returns {Promise<import('autocannon').Result & { wallSeconds: number }>}
 */
export function runLoad(options) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD, JSON.stringify(options)], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`load generator failed: ${stderr || error.message}`))
      try {
        resolve(JSON.parse(stdout))
      } catch {
        reject(new Error(`load generator printed no result: ${stdout.slice(0, 200)} ${stderr.slice(0, 200)}`))
      }
    })
  })
}
