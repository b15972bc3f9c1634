/**
 * The built-in plugins. Each is written only against the public plugin API (`openai-forward`),
 * exactly as a user's own plugin would be.
 */
export { keys } from './keys/index.ts'
export { ipFilter } from './ipFilter/index.ts'
export { rateLimit } from './rateLimit/index.ts'
export { tokenLimit } from './tokenLimit/index.ts'
export { cache } from './cache/index.ts'
export { retry } from './retry/index.ts'
export { chatLog } from './chatLog/index.ts'
