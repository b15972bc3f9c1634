import type { WindowSpec } from '../../src/index.ts'
import type { RequestFacts } from '../rateLimit/rules.ts'
import { calendarPeriod, parseBudget, type BudgetItem, type CalendarPeriod } from './period.ts'
import type { BudgetRule, BudgetScope, BudgetSettings } from './options.ts'

/** A budget chosen for one request, with what messages and headers need. */
export interface ChosenBudget {
  spec: WindowSpec
  item: BudgetItem
  /** Whose budget, in words: `key "alice"`, `IP 10.0.0.7`, `route "openai"`, `everyone`. */
  who: string
  /** The model pattern of a per-model budget. */
  model: string | undefined
  /** Calendar periods: when this one ends (epoch ms). */
  endsAt: number | undefined
}

/** A rule's budgets for one set of facts, before the calendar period is known. */
interface Template {
  base: string
  item: BudgetItem
  who: string
  model: string | undefined
}

/** Distinct request facts remembered with their budgets; past this the memo starts over. */
const TEMPLATES_KEPT = 10_000

function matches(pattern: string, model: string | undefined): boolean {
  if (model === undefined) return false
  return pattern.endsWith('*') ? model.startsWith(pattern.slice(0, -1)) : model === pattern
}

/** The current UTC day and month, recomputed only when the time falls outside the one kept. */
class PeriodClock {
  readonly #kept: Record<'day' | 'month', CalendarPeriod> = { day: calendarPeriod('day', 0), month: calendarPeriod('month', 0) }

  at(unit: 'day' | 'month', now: number): CalendarPeriod {
    const kept = this.#kept[unit]
    return now >= kept.startsAt && now < kept.endsAt ? kept : (this.#kept[unit] = calendarPeriod(unit, now))
  }
}

/**
 * The budgets of one plugin instance. For each request: the caller's tier (`callers[name]`, else
 * `levels[level]`, else `limit`) plus every `models` budget its model matches, each per scope.
 */
export class BudgetPlan {
  readonly #templates = new Map<string, Template[]>()
  readonly #clock = new PeriodClock()

  constructor(private readonly settings: BudgetSettings) {}

  /**
   * The budgets a request falls under at `now` (empty when none applies). `own`: the caller's own
   * budget (a runtime key's, `ctx.caller.budget`), which takes the place of its tier.
   */
  choose(facts: RequestFacts, perRoute: boolean, now: number, own?: string): ChosenBudget[] {
    const memo = `${facts.caller}\n${facts.level}\n${facts.ip}\n${facts.route}\n${facts.model}\n${perRoute}\n${own}`
    let templates = this.#templates.get(memo)
    if (!templates) {
      if (this.#templates.size >= TEMPLATES_KEPT) this.#templates.clear()
      this.#templates.set(memo, (templates = this.#templatesFor(facts, perRoute, own)))
    }
    return templates.map(({ base, item, who, model }) => {
      if (item.kind === 'sliding') return { spec: { key: base, limit: item.nano, windowMs: item.windowMs, strategy: 'moving' }, item, who, model, endsAt: undefined }
      const period = this.#clock.at(item.unit!, now)
      // The period is in the key: a new month is a new counter. The counter lives a whole period
      // (longer than what is left of it), so a late settlement still finds it.
      return { spec: { key: `${base}|${period.id}`, limit: item.nano, windowMs: item.windowMs, strategy: 'fixed' }, item, who, model, endsAt: period.endsAt }
    })
  }

  #templatesFor(facts: RequestFacts, perRoute: boolean, own: string | undefined): Template[] {
    const { settings } = this
    const rules: BudgetRule[] = []
    const tier = ownRule(own) || (facts.caller !== undefined && settings.callers.get(facts.caller)) || (facts.level !== undefined && settings.levels.get(facts.level)) || settings.base
    if (tier) rules.push(tier)
    for (const rule of settings.models) if (matches(rule.model!, facts.model)) rules.push(rule)
    const { key, who } = scopeKey(settings.scope, facts, perRoute)
    const out: Template[] = []
    const seen = new Set<string>()
    for (const rule of rules) {
      for (const item of rule.items) {
        const base = `${key}${rule.model ? `|model=${rule.model}` : ''}|${item.nano}/${item.kind === 'calendar' ? item.unit : item.windowMs}`
        if (seen.has(base)) continue
        seen.add(base)
        out.push({ base, item, who, model: rule.model })
      }
    }
    return out
  }

  /** For the banner. */
  describe(): string {
    const { settings } = this
    const parts: string[] = []
    if (settings.base) parts.push(`${settings.base.items.map((i) => i.text).join(' + ')} per ${settings.scope}`)
    if (settings.levels.size) parts.push(`${settings.levels.size} level budget(s)`)
    if (settings.callers.size) parts.push(`${settings.callers.size} caller budget(s)`)
    if (settings.models.length) parts.push(`models: ${settings.models.map((r) => `${r.model} ${r.items.map((i) => i.text).join(' + ')}`).join(', ')}`)
    return parts.join('; ')
  }
}

/** A caller's own budget as a rule; `undefined` when there is none or it does not parse (checked when the key was made). */
function ownRule(own: string | undefined): BudgetRule | undefined {
  if (own === undefined) return undefined
  try {
    return { items: parseBudget(own), model: undefined }
  } catch {
    return undefined
  }
}

/**
 * The counter's owner. Every key starts with the same hash tag, so on Redis Cluster the budgets of
 * one request live in one slot and one script checks them together.
 */
function scopeKey(scope: BudgetScope, facts: RequestFacts, perRoute: boolean): { key: string; who: string } {
  let key = '{budget}'
  let who: string
  if (scope === 'key' && facts.caller !== undefined) {
    key += `key=${facts.caller}`
    who = `key "${facts.caller}"`
  } else if (scope === 'key' || scope === 'ip') {
    key += `ip=${facts.ip}`
    who = `IP ${facts.ip}`
  } else {
    key += scope
    who = scope === 'route' ? `route "${facts.route}"` : 'everyone'
  }
  if (perRoute || scope === 'route') key += `|route=${facts.route}`
  return { key, who }
}
