import type { ProviderAdapter } from '../provider.ts'
import { takeBearer } from '../provider.ts'
import { geminiRequest } from './request.ts'
import { openaiCompletion } from './response.ts'
import { GeminiStream } from './stream.ts'

/** OpenAI clients served by Gemini's API (`generateContent`, `streamGenerateContent?alt=sse`, the model list). */
export const gemini: ProviderAdapter = {
  name: 'gemini',
  chatPath: (model, stream) => `/v1beta/models/${encodeURIComponent(model)}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
  modelsPath: (id) => (id === undefined ? '/v1beta/models' : `/v1beta/models/${encodeURIComponent(id)}`),
  // The model is named in the path, not in the body.
  request: geminiRequest,
  credential(attempt) {
    const bearer = takeBearer(attempt)
    if (bearer) attempt.headers['x-goog-api-key'] = bearer
    const key = attempt.headers['x-goog-api-key']
    return typeof key === 'string' ? key : undefined
  },
  completion: (answer, plan) => openaiCompletion(answer, plan.model),
  stream: (plan) => new GeminiStream(plan.model, plan.usage),
}
