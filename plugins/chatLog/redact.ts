import { assertConfig, checkKnownKeys } from '../../src/index.ts'
import type { ChatLogRecord, RedactFunction, RedactRule, RedactStep } from './types.ts'

type Mask = (text: string) => string

/** Copies a JSON value with `mask` applied to every string (keys stay as they are). */
function maskDeep(value: unknown, mask: Mask): unknown {
  if (typeof value === 'string') return mask(value)
  if (Array.isArray(value)) return value.map((item) => maskDeep(item, mask))
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {}
    for (const key of Object.keys(value)) copy[key] = maskDeep((value as Record<string, unknown>)[key], mask)
    return copy
  }
  return value
}

/** Consecutive rules become one mask, so the record is copied once per run of rules. */
function maskOf(rules: RedactRule[]): Mask {
  const compiled = rules.map((rule) => ({
    pattern: rule.pattern.global ? rule.pattern : new RegExp(rule.pattern.source, `${rule.pattern.flags}g`),
    replace: rule.replace ?? '[redacted]',
  }))
  return (text) => {
    for (const { pattern, replace } of compiled) text = text.replace(pattern, replace)
    return text
  }
}

/**
 * Compiles the `redact` option into one function run on each record before it is written.
 * Copies rather than changes the record: its `request` is the object the request's hooks saw.
 */
export function compileRedaction(redact: RedactStep | readonly RedactStep[] | undefined): RedactFunction | undefined {
  if (redact === undefined) return undefined
  const steps = (Array.isArray(redact) ? redact : [redact]) as readonly RedactStep[]
  const stages: RedactFunction[] = []
  let rules: RedactRule[] = []
  const closeRules = () => {
    if (rules.length === 0) return
    const mask = maskOf(rules)
    stages.push((record) => maskDeep(record, mask) as ChatLogRecord)
    rules = []
  }
  steps.forEach((step, i) => {
    const field = `plugins.chatLog.redact[${i}]`
    if (typeof step === 'function') {
      closeRules()
      stages.push(step)
      return
    }
    assertConfig(step && typeof step === 'object' && step.pattern instanceof RegExp, field, 'must be { pattern: RegExp, replace?: string } or a function (record) => record | null')
    checkKnownKeys(step, ['pattern', 'replace'], field, { replacement: 'replace', with: 'replace', regex: 'pattern' })
    assertConfig(step.replace === undefined || typeof step.replace === 'string', `${field}.replace`, 'must be a string')
    rules.push(step)
  })
  closeRules()
  if (stages.length === 0) return undefined
  return (record) => {
    let current: ChatLogRecord | null = record
    for (const stage of stages) {
      current = stage(current)
      if (!current) return null
    }
    return current
  }
}
