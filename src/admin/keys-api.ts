import type { ConsolaInstance } from 'consola'
import { ForwardKeyStore, KeyStoreError, parseBudget, type RunningGateway } from '../index.ts'

/** The forward-key store of the running gateway (its storage may change on a reload). */
function storeOf(running: RunningGateway): ForwardKeyStore {
  return new ForwardKeyStore(running.gateway.storage.forPlugin('keys'))
}

const problem = (status: number, message: string) => Response.json({ error: { message } }, { status })

function budgetProblem(text: string): string | undefined {
  try {
    parseBudget(text)
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

/** A key store error as the admin API answers it; anything else is rethrown (a 500). */
function answerError(error: unknown): Response {
  if (error instanceof KeyStoreError) return problem(error.status, error.message)
  throw error
}

/**
 * The admin API's forward-key handlers: list (never a secret), create and rotate (the secret in
 * that one answer only), revoke. Creating, rotating and revoking are logged by name.
 */
export function keysApi(running: RunningGateway, log: ConsolaInstance | undefined) {
  return {
    async list(): Promise<unknown> {
      const store = storeOf(running)
      const [keys, levels] = await Promise.all([store.list(), store.levels()])
      return { keys, levels }
    },

    async create(body: any): Promise<Response> {
      const store = storeOf(running)
      try {
        const { secret, record } = await store.create(
          { name: body?.name, level: body?.level, expiresAt: body?.expiresAt, budget: body?.budget },
          { levels: await store.levels(), budget: budgetProblem },
        )
        log?.info(`admin: forward key "${record.name}" created (level ${record.level}${record.expiresAt ? `, expires ${new Date(record.expiresAt).toISOString()}` : ''}${record.budget ? `, budget ${record.budget}` : ''})`)
        return Response.json({ key: secret, ...record }, { status: 201, headers: { 'cache-control': 'no-store' } })
      } catch (error) {
        return answerError(error)
      }
    },

    async revoke(name: string): Promise<Response> {
      try {
        const record = await storeOf(running).revoke(name)
        log?.info(`admin: forward key "${record.name}" revoked`)
        return Response.json({ revoked: record.name })
      } catch (error) {
        return answerError(error)
      }
    },

    async rotate(name: string): Promise<Response> {
      try {
        const { secret, record } = await storeOf(running).rotate(name)
        log?.info(`admin: forward key "${record.name}" rotated (the old secret is refused from now on)`)
        return Response.json({ key: secret, ...record }, { headers: { 'cache-control': 'no-store' } })
      } catch (error) {
        return answerError(error)
      }
    },
  }
}
