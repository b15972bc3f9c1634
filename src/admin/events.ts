import type { MonitorHub, HubEvent } from './hub.ts'

const encoder = new TextEncoder()
/** A comment line now and then keeps proxies and idle timers from closing a quiet stream. */
const KEEPALIVE_MS = 15_000

/**
 * The dashboard's live stream (Server-Sent Events): `exchange` for each finished exchange, `tick`
 * once a second. Ends when the client leaves or `closing` aborts (admin shutdown).
 */
export function eventStream(hub: MonitorHub, clientGone: AbortSignal, closing: AbortSignal): Response {
  let stop = () => {}
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text))
        } catch {
          stop()
        }
      }
      const unsubscribe = hub.subscribe((event: HubEvent) => send(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`))
      const keepalive = setInterval(() => send(': keepalive\n\n'), KEEPALIVE_MS).unref()
      stop = () => {
        unsubscribe()
        clearInterval(keepalive)
        clientGone.removeEventListener('abort', end)
        closing.removeEventListener('abort', end)
      }
      const end = () => {
        stop()
        try {
          controller.close()
        } catch {
          // already closed
        }
      }
      clientGone.addEventListener('abort', end)
      closing.addEventListener('abort', end)
      send('retry: 2000\n: connected\n\n')
    },
    cancel() {
      stop()
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' } })
}
