import type { ProviderAdapter } from '../provider.ts'
import { takeBearer } from '../provider.ts'

export const gemini: ProviderAdapter = {
  name: 'gemini',
  chatPath: (model, stream) => `/v1beta/models/${encodeURIComponent(model)}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
  modelsPath: (id) => (id === undefined ? '/v1beta/models' : `/v1beta/models/${encodeURIComponent(id)}`),
  request: () => { throw new Error('todo') },
  credential(attempt) {
    const bearer = takeBearer(attempt)
    if (bearer) attempt.headers['x-goog-api-key'] = bearer
    const key = attempt.headers['x-goog-api-key']
    return typeof key === 'string' ? key : undefined
  },
  completion: () => { throw new Error('todo') },
  stream: () => { throw new Error('todo') },
}
