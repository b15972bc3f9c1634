import { errorResponse, type ConsumeResult } from '../../src/index.ts'
import type { ChosenBudget } from './plan.ts'

/** Nano-dollars as a plain decimal number of dollars, without trailing zeros: `50`, `0.0125`, `0.000002`. */
export function dollars(nano: number): string {
  const negative = nano < 0
  const abs = Math.abs(Math.round(nano))
  const whole = Math.floor(abs / 1e9)
  const fraction = String(abs % 1e9).padStart(9, '0').replace(/0+$/, '')
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`
}

/** `$50`, `$0.0125`: for messages. */
export const usd = (nano: number) => `$${dollars(nano)}`

/** When a budget has room again: the end of a calendar period, or when enough of a sliding window expires. */
function resetAt(budget: ChosenBudget, resetMs: number, now: number): number {
  return budget.endsAt ?? now + resetMs
}

/** The budget to show in headers: the refusing one, else the one with the least left. */
function shownIndex(result: ConsumeResult): number {
  if (result.refusedBy !== undefined) return result.refusedBy
  let shown = 0
  for (let i = 1; i < result.windows.length; i++) if (result.windows[i].remaining < result.windows[shown].remaining) shown = i
  return shown
}

/**
 * `x-aifd-budget-limit` and `-remaining` (US dollars, after this request's reservation), and
 * `-reset` (ISO time when it has room again), sent on every budgeted response.
 */
export function setBudgetHeaders(headers: Record<string, string>, budgets: readonly ChosenBudget[], result: ConsumeResult, now: number): void {
  const index = shownIndex(result)
  const state = result.windows[index]
  headers['x-aifd-budget-limit'] = dollars(budgets[index].item.nano)
  headers['x-aifd-budget-remaining'] = dollars(Math.max(0, state.remaining))
  headers['x-aifd-budget-reset'] = new Date(resetAt(budgets[index], state.resetMs, now)).toISOString()
}

function whose(budget: ChosenBudget): string {
  return `${budget.who}${budget.model ? ` on ${budget.model}` : ''}`
}

/** 429 `budget_exceeded`: the budget, what was spent, and when it resets. */
export function budgetExceeded(budgets: readonly ChosenBudget[], result: ConsumeResult, reserve: number, now: number): Response {
  const index = result.refusedBy!
  const budget = budgets[index]
  const spent = result.windows[index].used
  const at = resetAt(budget, result.retryAfterMs, now)
  const when = budget.item.kind === 'calendar' ? `It resets at ${new Date(at).toISOString()}` : `Enough of it frees up at ${new Date(at).toISOString()}`
  return errorResponse(
    429,
    `Budget exceeded for ${whose(budget)}: ${budget.item.text}${budget.item.kind === 'calendar' ? ' (UTC)' : ' (sliding)'}, ${usd(spent)} spent, and this request may cost up to ${usd(reserve)}. ${when}.`,
    'rate_limit_error',
    'budget_exceeded',
    { 'retry-after': String(Math.max(1, Math.ceil((at - now) / 1000))) },
  )
}

/** 429 `budget_exceeded` for a request whose worst case is more than the whole budget: waiting would not help. */
export function tooExpensive(budget: ChosenBudget, reserve: number): Response {
  return errorResponse(
    429,
    `Budget exceeded for ${whose(budget)}: this request may cost up to ${usd(reserve)} (its prompt plus its output cap), more than the whole budget of ${budget.item.text}. Lower max_tokens or shorten the prompt.`,
    'rate_limit_error',
    'budget_exceeded',
  )
}

/** 400 `model_unpriced`: the budget cannot hold a model without a price. */
export function unpricedModel(model: string): Response {
  return errorResponse(400, `The model \`${model}\` has no price, so a budget cannot hold it. Ask the gateway's operator to add it to \`prices\`.`, 'invalid_request_error', 'model_unpriced')
}

/** 503 when the budget's storage is unreachable and `failOpen` is off. */
export function budgetUnavailable(): Response {
  return errorResponse(503, 'The budget cannot reach its storage, so the request was refused. Please try again shortly.', 'api_error', 'budget_unavailable')
}
