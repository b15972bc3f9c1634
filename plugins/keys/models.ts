import { assertConfig } from '../../src/index.ts'

/** Which models a level may use, compiled once. */
export interface ModelFilter {
  /** Every model is allowed (nothing to check or filter). */
  readonly all: boolean
  allows(model: string): boolean
}

const EVERY_MODEL: ModelFilter = { all: true, allows: () => true }

/** `'gpt-4o*'` → /^gpt-4o.*$/; every other character is literal. */
function patternOf(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
}

/** Compiles `'*'` or a list of names and wildcards (`'gpt-4o*'`) into a matcher. */
export function compileModels(models: '*' | readonly string[] | undefined, field: string): ModelFilter {
  if (models === undefined || models === '*') return EVERY_MODEL
  assertConfig(Array.isArray(models) && models.length > 0, field, 'must be "*" or a non-empty list of model names and wildcards like "gpt-4o*"')
  const exact = new Set<string>()
  const patterns: RegExp[] = []
  models.forEach((model: unknown, i: number) => {
    assertConfig(typeof model === 'string' && model.trim() !== '', `${field}[${i}]`, 'must be a model name or a wildcard like "gpt-4o*"')
    if (model === '*') patterns.push(/^/)
    else if (model.includes('*')) patterns.push(patternOf(model))
    else exact.add(model)
  })
  if (patterns.some((p) => p.source === '^')) return EVERY_MODEL
  return { all: false, allows: (model) => exact.has(model) || patterns.some((p) => p.test(model)) }
}

/**
 * A model list answer with only the allowed models: OpenAI's and Anthropic's `{ data: [{ id }] }`
 * and Gemini's `{ models: [{ name: 'models/…' }] }`. `undefined` for any other shape.
 */
export function filterModelList(body: unknown, filter: ModelFilter): unknown {
  if (typeof body !== 'object' || body === null) return undefined
  const list = body as { data?: unknown; models?: unknown }
  if (Array.isArray(list.data)) {
    return { ...list, data: list.data.filter((m: { id?: unknown }) => typeof m?.id === 'string' && filter.allows(m.id)) }
  }
  if (Array.isArray(list.models)) {
    const allowed = (m: { name?: unknown }) => typeof m?.name === 'string' && filter.allows(m.name.replace(/^models\//, ''))
    return { ...list, models: list.models.filter(allowed) }
  }
  return undefined
}
