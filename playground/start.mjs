// `npm run playground`: the mock upstream on :9000 and the gateway in dev mode (hot reload) on :8000.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'

const root = new URL('..', import.meta.url)
const mock = new URL('dist/playground/mock/server.js', root)
if (!existsSync(mock)) {
  console.error('playground: run `npm run build` first')
  process.exit(1)
}
const port = process.env.MOCK_PORT ?? '9000'
const upstream = spawn(process.execPath, [mock.pathname, '--port', port, '--host', '127.0.0.1', '--no-record'], { stdio: 'inherit' })
const gateway = spawn(process.execPath, [new URL('bin/aifd.mjs', root).pathname, 'dev', '--config', 'playground/forward.config.ts'], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, MOCK_UPSTREAM: `http://127.0.0.1:${port}` },
})
const stop = () => {
  upstream.kill('SIGTERM')
  gateway.kill('SIGTERM')
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
gateway.on('exit', (code) => {
  upstream.kill('SIGTERM')
  process.exit(code ?? 0)
})
