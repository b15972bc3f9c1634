import type { ProviderAdapter } from '../provider.ts'
import { takeBearer } from '../provider.ts'
import { anthropicRequest, jsonAnswerTool } from './request.ts'
import { openaiCompletion } from './response.ts'
import { AnthropicStream } from './stream.ts'

/** OpenAI clients served by Anthropic's Messages API (`POST /v1/messages`, `GET /v1/models`). */
export const anthropic: ProviderAdapter = {
  name: 'anthropic',
  chatPath: () => '/v1/messages',
  modelsPath: (id) => (id === undefined ? '/v1/models' : `/v1/models/${encodeURIComponent(id)}`),
  request: anthropicRequest,
  credential(attempt, options) {
    const bearer = takeBearer(attempt)
    if (bearer) attempt.headers['x-api-key'] = bearer
    attempt.headers['anthropic-version'] ??= options.anthropicVersion
    const key = attempt.headers['x-api-key']
    return typeof key === 'string' ? key : undefined
  },
  completion: (answer, plan) => openaiCompletion(answer, jsonAnswerTool(plan.body)),
  stream: (plan) => new AnthropicStream(jsonAnswerTool(plan.body), plan.usage),
}
