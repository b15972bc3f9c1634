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
