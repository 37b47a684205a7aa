import { streamKey, type ExecutionBus } from './bus'
import type { ExecutionView } from './format'
import type { ExecutionStore } from './service'

export const HEARTBEAT_MS = 15_000
/** Catch-up poll for runs another instance ingested (the bus only sees this process). */
export const POLL_MS = 5_000

const encoder = new TextEncoder()

/**
 * A Server-Sent Events response of new executions of one repository. Replays what came after
 * `lastEventId`, then pushes new runs; heartbeats keep proxies from closing the connection. Every
 * timer and subscription is released when the client goes away.
 */
export function executionStream(store: ExecutionStore, bus: ExecutionBus, orgId: string, name: string, lastEventId: string | null, signal: AbortSignal, headers: Record<string, string>): Response {
  // The onboarding wizard opens the stream before the first run: the repository may not exist yet.
  let repoId = store.findRepo(orgId, name)?.id ?? null
  let cleanup = () => {}
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let lastSent = lastEventId ?? ''
      let closed = false
      const send = (execution: ExecutionView) => {
        if (closed || execution.id <= lastSent) return
        lastSent = execution.id
        controller.enqueue(encoder.encode(`event: execution\nid: ${execution.id}\ndata: ${JSON.stringify(execution)}\n\n`))
      }
      const catchUp = () => {
        repoId ??= store.findRepo(orgId, name)?.id ?? null
        if (repoId !== null) for (const execution of store.after(repoId, name, lastSent)) send(execution)
      }
      controller.enqueue(encoder.encode(': connected\nretry: 3000\n\n'))
      // Without Last-Event-ID the stream starts from now: only runs recorded after it opened are sent.
      if (lastEventId === null) lastSent = repoId === null ? '' : (store.latestId(repoId) ?? '')
      else catchUp()
      const unsubscribe = bus.subscribe(streamKey(orgId, name), send)
      const heartbeat = setInterval(() => {
        if (!closed) controller.enqueue(encoder.encode(': heartbeat\n\n'))
      }, HEARTBEAT_MS)
      const poll = setInterval(() => {
        if (!closed) catchUp()
      }, POLL_MS)
      cleanup = () => {
        if (closed) return
        closed = true
        unsubscribe()
        clearInterval(heartbeat)
        clearInterval(poll)
        signal.removeEventListener('abort', onAbort)
      }
      const onAbort = () => {
        cleanup()
        try {
          controller.close()
        } catch {
          // already closed by the client
        }
      }
      signal.addEventListener('abort', onAbort)
    },
    cancel() {
      cleanup()
    },
  })
  return new Response(body, {
    headers: {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    },
  })
}
