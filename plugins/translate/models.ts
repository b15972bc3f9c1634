import type { Provider } from './options.ts'

/** One model in OpenAI's shape. */
export interface OpenAIModel {
  id: string
  object: 'model'
  created: number
  owned_by: string
}

function epochSeconds(date: unknown): number {
  const ms = typeof date === 'string' ? Date.parse(date) : Number.NaN
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000)
}

/** One provider model (Anthropic `{ type: 'model', id, created_at }`, Gemini `{ name: 'models/…' }`) in OpenAI's shape. */
export function openaiModel(provider: Provider, model: any): OpenAIModel {
  if (provider === 'anthropic') return { id: String(model?.id ?? ''), object: 'model', created: epochSeconds(model?.created_at), owned_by: 'anthropic' }
  return { id: String(model?.name ?? '').replace(/^models\//, ''), object: 'model', created: 0, owned_by: 'google' }
}

/** A provider's model list (Anthropic `{ data }`, Gemini `{ models }`) in OpenAI's `{ object: 'list', data }`. */
export function openaiModelList(provider: Provider, list: any): { object: 'list'; data: OpenAIModel[] } {
  const models = provider === 'anthropic' ? list?.data : list?.models
  return { object: 'list', data: (Array.isArray(models) ? models : []).map((model: unknown) => openaiModel(provider, model)) }
}

/** One OpenAI model (`{ id, created }`) in Anthropic's shape. */
export function anthropicModel(model: any): { type: 'model'; id: string; display_name: string; created_at: string } {
  const id = String(model?.id ?? '')
  const created = Number(model?.created)
  return { type: 'model', id, display_name: id, created_at: new Date(Number.isFinite(created) ? created * 1000 : 0).toISOString() }
}

/** An OpenAI model list in Anthropic's paged shape (one page, the whole list). */
export function anthropicModelList(list: any): { data: ReturnType<typeof anthropicModel>[]; has_more: false; first_id: string | null; last_id: string | null } {
  const data = (Array.isArray(list?.data) ? list.data : []).map(anthropicModel)
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null }
}
