import { assertConfig, checkKnownKeys, ConfigError } from '../../src/index.ts'
import { parseBudget, type Budget, type BudgetItem } from './period.ts'

/**
 * Who shares one budget:
 * - `key`: each caller (forward key, as named by the `keys` plugin); a request without a known
 *   caller is counted per client IP instead.
 * - `ip`: each client IP.
 * - `route`: everyone on the route, together.
 * - `global`: everyone on every route the plugin serves, together.
 */
export type BudgetScope = 'key' | 'ip' | 'route' | 'global'

/** Options of the `budget` plugin. Amounts are US dollars, priced with the config's price table. */
export interface BudgetOptions {
  /** Every caller's budget: `'$50/month'`, `'$5/day'` (calendar, UTC), `'$10/24h'` (sliding), or several: `'$5/day;$50/month'`. */
  limit?: Budget
  /** Replaces `limit` for callers at a level (set by the `keys` plugin), e.g. `{ pro: '$500/month' }`. */
  levels?: Record<string, Budget>
  /** Replaces `limit` (and `levels`) for one caller by name, e.g. `{ 'batch-job': '$5/day' }`. */
  callers?: Record<string, Budget>
  /** Extra budgets per model, counted per scope and model, in addition to the above: `{ 'gpt-4o*': '$10/day' }`. */
  models?: Record<string, Budget>
  /** Who shares a budget. Default `key`. */
  scope?: BudgetScope
  /** Output tokens assumed when a request sets no `max_tokens` / `max_completion_tokens` / `max_output_tokens`. Default 4096. */
  defaultMaxTokens?: number
  /** A request for a model with no price: `'refuse'` it (400 `model_unpriced`), or `'allow'` it unbudgeted. Default `'refuse'`. */
  unpriced?: 'refuse' | 'allow'
  /** Ask OpenAI streams for their usage, so they settle to the real cost (the extra event is hidden from clients that did not ask). Default `true`. */
  streamUsage?: boolean
  /** When the storage (Redis) cannot be reached: `true` serves unbudgeted, `false` refuses with 503. Default `false` (it is money). */
  failOpen?: boolean
}

/** A budget rule, checked: the items of one tier or model budget. */
export interface BudgetRule {
  items: BudgetItem[]
  /** For model budgets: the pattern (`'gpt-4o'`, `'gpt-4o*'`). */
  model: string | undefined
}

export interface BudgetSettings {
  base: BudgetRule | undefined
  levels: Map<string, BudgetRule>
  callers: Map<string, BudgetRule>
  models: BudgetRule[]
  scope: BudgetScope
  defaultMaxTokens: number
  unpriced: 'refuse' | 'allow'
  streamUsage: boolean
  failOpen: boolean
}

const KNOWN = ['limit', 'levels', 'callers', 'models', 'scope', 'defaultMaxTokens', 'unpriced', 'streamUsage', 'failOpen'] as const
const SCOPES: readonly BudgetScope[] = ['key', 'ip', 'route', 'global']
export const FIELD = 'plugins.budget'

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function budget(value: unknown, field: string): BudgetItem[] {
  assertConfig(typeof value === 'string', field, `must be a budget like "$50/month", got ${JSON.stringify(value)}`)
  try {
    return parseBudget(value)
  } catch (error) {
    throw new ConfigError(field, (error as Error).message)
  }
}

function table(value: unknown, field: string): Array<[string, BudgetItem[]]> {
  if (value === undefined) return []
  assertConfig(isRecord(value), field, 'must be an object of name → budget, like { pro: "$500/month" }')
  return Object.entries(value).map(([name, text]) => {
    assertConfig(name !== '', field, 'has an empty name')
    return [name, budget(text, `${field}.${name}`)]
  })
}

/** Checks the options, naming the field of the first problem (an unknown option gets "did you mean"). */
export function resolveBudgetOptions(given: BudgetOptions): BudgetSettings {
  assertConfig(isRecord(given as unknown), FIELD, 'needs options, e.g. budget({ limit: "$50/month" })')
  const options = given
  checkKnownKeys(options, KNOWN, FIELD)
  const scope = options.scope ?? 'key'
  assertConfig(SCOPES.includes(scope), `${FIELD}.scope`, `must be one of ${SCOPES.map((s) => `"${s}"`).join(', ')}, got ${JSON.stringify(scope)}`)
  const { defaultMaxTokens = 4096, unpriced = 'refuse', streamUsage = true, failOpen = false } = options
  assertConfig(Number.isInteger(defaultMaxTokens) && defaultMaxTokens >= 0, `${FIELD}.defaultMaxTokens`, `must be an integer ≥ 0, got ${JSON.stringify(defaultMaxTokens)}`)
  assertConfig(unpriced === 'refuse' || unpriced === 'allow', `${FIELD}.unpriced`, `must be "refuse" or "allow", got ${JSON.stringify(unpriced)}`)
  assertConfig(typeof streamUsage === 'boolean', `${FIELD}.streamUsage`, 'must be true or false')
  assertConfig(typeof failOpen === 'boolean', `${FIELD}.failOpen`, 'must be true or false')
  const models = table(options.models, `${FIELD}.models`).map(([model, items]): BudgetRule => {
    assertConfig(model.indexOf('*') === -1 || model.indexOf('*') === model.length - 1, `${FIELD}.models.${model}`, 'must be a model name, or a prefix ending in one "*"')
    return { items, model }
  })
  const settings: BudgetSettings = {
    base: options.limit === undefined ? undefined : { items: budget(options.limit, `${FIELD}.limit`), model: undefined },
    levels: new Map(table(options.levels, `${FIELD}.levels`).map(([name, items]) => [name, { items, model: undefined }])),
    callers: new Map(table(options.callers, `${FIELD}.callers`).map(([name, items]) => [name, { items, model: undefined }])),
    models,
    scope,
    defaultMaxTokens,
    unpriced,
    streamUsage,
    failOpen,
  }
  assertConfig(settings.base || settings.levels.size || settings.callers.size || models.length, FIELD, 'sets no budget: give `limit`, `levels`, `callers` or `models`')
  return settings
}
