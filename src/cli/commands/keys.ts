import { defineCommand } from 'citty'
import { parseDuration } from '../../util/units.ts'

/** Where the admin listener is and its token: flags, else the environment, else the default listener. */
const adminArgs = {
  url: { type: 'string', description: 'Admin listener URL (default $AIFD_ADMIN_URL, else http://127.0.0.1:8001)' },
  token: { type: 'string', description: 'Admin token (default $AIFD_ADMIN_TOKEN)' },
} as const

interface AdminTarget {
  url?: string
  token?: string
}

/** One admin API call; exits with the API's own message when it refuses. */
async function call(target: AdminTarget, method: string, path: string, body?: unknown): Promise<any> {
  const base = (target.url ?? process.env.AIFD_ADMIN_URL ?? 'http://127.0.0.1:8001').replace(/\/$/, '')
  const token = target.token ?? process.env.AIFD_ADMIN_TOKEN
  if (!token) fail('the admin token is needed: --token or $AIFD_ADMIN_TOKEN (the gateway prints it at start)')
  let response: Response
  try {
    response = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (error) {
    fail(`cannot reach the admin listener at ${base} (${(error as Error & { cause?: Error }).cause?.message ?? (error as Error).message}); is the gateway running with --webui?`)
  }
  const answer = await response.json().catch(() => ({}))
  if (!response.ok) fail(`${response.status}: ${answer?.error?.message ?? response.statusText}`)
  return answer
}

function fail(message: string): never {
  process.stderr.write(`aifd keys: ${message}\n`)
  process.exit(1)
}

/** `--expires 30d` or an ISO time → epoch ms. */
function expiryOf(text: string | undefined): number | undefined {
  if (!text) return undefined
  const ms = /^\d/.test(text) && !text.includes('-') ? parseDuration(text) : undefined
  if (ms !== undefined) return Date.now() + ms
  const at = Date.parse(text)
  if (Number.isNaN(at)) fail(`--expires must be a duration like "30d" or an ISO time, got "${text}"`)
  return at
}

const when = (ms: number | undefined) => (ms ? new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z') : '–')

const create = defineCommand({
  meta: { name: 'create', description: 'Make a forward key (its secret is shown once)' },
  args: {
    name: { type: 'positional', required: true, description: 'The key\'s name (shown in logs, limits and the dashboard)' },
    level: { type: 'string', required: true, description: 'Its level (one of the keys plugin\'s levels)' },
    expires: { type: 'string', description: 'When it stops working: a duration ("30d") or an ISO time' },
    budget: { type: 'string', description: 'Its own dollar budget, e.g. "$20/month" (applied by the budget plugin)' },
    ...adminArgs,
  },
  async run({ args }) {
    const made = await call(args, 'POST', '/api/keys', { name: args.name, level: args.level, expiresAt: expiryOf(args.expires), budget: args.budget })
    process.stdout.write(`${made.key}\n`)
    process.stderr.write(`Forward key "${made.name}" (level ${made.level}${made.expiresAt ? `, expires ${when(made.expiresAt)}` : ''}${made.budget ? `, budget ${made.budget}` : ''}). This is the only time its secret is shown.\n`)
  },
})

const list = defineCommand({
  meta: { name: 'list', description: 'List forward keys with their use (never a secret)' },
  args: { json: { type: 'boolean', description: 'Print JSON' }, ...adminArgs },
  async run({ args }) {
    const { keys } = await call(args, 'GET', '/api/keys')
    if (args.json) return void process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`)
    const rows = [['NAME', 'LEVEL', 'SOURCE', 'CREATED', 'EXPIRES', 'LAST USED', 'REQUESTS', 'TOKENS', 'COST $', 'BUDGET']]
    for (const k of keys) rows.push([k.name, k.level ?? '–', k.source, when(k.createdAt), when(k.expiresAt), when(k.lastUsedAt), String(k.requests), String(k.tokens), `${k.costUsd.toFixed(6)}${k.estimatedCostUsd > 0 ? '*' : ''}`, k.budget ?? '–'])
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
    process.stdout.write(rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + '\n')
    if (keys.some((k: { estimatedCostUsd: number }) => k.estimatedCostUsd > 0)) process.stdout.write('* includes cost of usage the gateway counted (the upstream reported none)\n')
  },
})

const revoke = defineCommand({
  meta: { name: 'revoke', description: 'Revoke a forward key made at run time (refused everywhere within a second)' },
  args: { name: { type: 'positional', required: true, description: 'The key\'s name' }, ...adminArgs },
  async run({ args }) {
    await call(args, 'DELETE', `/api/keys/${encodeURIComponent(args.name)}`)
    process.stderr.write(`Forward key "${args.name}" revoked.\n`)
  },
})

const rotate = defineCommand({
  meta: { name: 'rotate', description: 'Give a forward key a new secret (the old one is refused from now on)' },
  args: { name: { type: 'positional', required: true, description: 'The key\'s name' }, ...adminArgs },
  async run({ args }) {
    const made = await call(args, 'POST', `/api/keys/${encodeURIComponent(args.name)}/rotate`)
    process.stdout.write(`${made.key}\n`)
    process.stderr.write(`Forward key "${made.name}" has a new secret. This is the only time it is shown.\n`)
  },
})

export default defineCommand({
  meta: { name: 'keys', description: 'Manage forward keys on a running gateway (its admin listener, --webui)' },
  subCommands: { create, list, revoke, rotate },
})
