import { defineForwardConfig } from 'openai-forward'

// Local models behind one gateway: LocalAI, Ollama and vLLM all speak the OpenAI API, so each is an
// `openai` route and every client (the OpenAI SDKs, LangChain, curl) only changes its base URL:
//   LocalAI  http://127.0.0.1:8000/localai/v1
//   Ollama   http://127.0.0.1:8000/ollama/v1   (its native /api/* passes through too: /ollama/api/chat)
//   vLLM     http://127.0.0.1:8000/vllm/v1
// Run it with `aifd run --config playground/localai.config.ts` (or copy it to forward.config.ts).
const env = (name: string, fallback: string) => process.env[name] ?? fallback

export default defineForwardConfig({
  routes: {
    localai: {
      path: '/localai',
      target: env('LOCALAI_URL', 'http://localhost:8080'),
      type: 'openai',
      // A local model may need minutes to load on its first request: wait for the headers that long.
      timeout: { connect: '5s', headers: '10m' },
    },
    ollama: {
      path: '/ollama',
      target: env('OLLAMA_URL', 'http://localhost:11434'),
      type: 'openai',
      timeout: { connect: '5s', headers: '10m' },
    },
    // vLLM listens on :8000 by default, the gateway's own port: start it with `--port 8001`.
    vllm: {
      path: '/vllm',
      target: env('VLLM_URL', 'http://localhost:8001'),
      type: 'openai',
      timeout: { connect: '5s', headers: '10m' },
    },
  },
  // Local servers usually need no key. Before exposing the gateway beyond this machine, add the
  // `keys` plugin (forward keys for your users) and `ipFilter`; they work on these routes unchanged.
  server: { port: 8000, host: '127.0.0.1' },
})
