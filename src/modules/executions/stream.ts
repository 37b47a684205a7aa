import { streamKey, type ExecutionBus } from './bus'
import type { ExecutionView } from './format'
import type { ExecutionStore } from './service'
import type { MaybePromise } from '../../lib/maybe'

export const HEARTBEAT_MS = 15_000
/**
 * Catch-up poll for runs another instance ingested (the bus only sees this process); each tick also
 * re-checks the credential, so a stream ends within POLL_MS of its credential ending anywhere.
 */
export const POLL_MS = 5_000

const encoder = new TextEncoder()

export interface StreamTiming {
  heartbeatMs: number
  pollMs: number
  /** How long a stream's lease in the shared count lasts unrenewed (stream-registry.ts; test seam). */
  leaseMs?: number
}

export const STREAM_TIMING: StreamTiming = { heartbeatMs: HEARTBEAT_MS, pollMs: POLL_MS }

export interface StreamGuard {
  /**
   * Whether the credential that opened the stream is still accepted; checked on every event and heartbeat
   * (from the cache) and on every poll with `fresh` (from the database: a lost notification cannot keep it).
   */
  alive(fresh?: boolean): boolean | Promise<boolean>
  /** Registers the stream's `close` (to be ended from outside) and returns the function that frees its slot. */
  hold(close: () => void): MaybePromise<() => void>
}

/**
 * A Server-Sent Events response of new executions of one repository. Replays what came after
 * `lastEventId`, then pushes new runs; heartbeats keep proxies from closing the connection. Every
 * timer, subscription and slot is released when the client goes away or the credential ends.
 */
export interface StreamRequest {
  store: ExecutionStore
  bus: ExecutionBus
  orgId: string
  repo: string
  /** Replay what came after this id (EventSource's reconnect), or start from now. */
  lastEventId: string | null
  /** The request's: the stream ends when the client goes away. */
  signal: AbortSignal
  /** Headers already set for the answer (request id, CORS, rate limits). */
  headers: Record<string, string>
  guard: StreamGuard
  timing?: StreamTiming
}

export async function executionStream(request: StreamRequest): Promise<Response> {
  const { store, bus, orgId, repo: name, lastEventId, signal, headers, guard, timing = STREAM_TIMING } = request
  // The onboarding wizard opens the stream before the first run: the repository may not exist yet.
  let repoId = (await store.findRepo(orgId, name))?.id ?? null
  // Without Last-Event-ID the stream starts from now: only runs recorded after it opened are sent.
  const startAfter = lastEventId ?? (repoId === null ? '' : ((await store.latestId(repoId)) ?? ''))
  let close = () => {}
  // Taken before the response exists: a full cap throws here and the route answers 429.
  const release = await guard.hold(() => close())
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let lastSent = startAfter
      let closed = false
      // Frames go out in order through one chain, each after the credential was re-checked.
      let chain: Promise<unknown> = Promise.resolve()
      const serially = (task: () => unknown) => {
        chain = chain.then(task).catch(() => close())
      }
      const write = (text: string) =>
        serially(async () => {
          if (closed) return
          if (!(await guard.alive())) return close()
          if (!closed) controller.enqueue(encoder.encode(text))
        })
      const send = (execution: ExecutionView) => {
        if (closed || execution.id <= lastSent) return
        lastSent = execution.id
        write(`event: execution\nid: ${execution.id}\ndata: ${JSON.stringify(execution)}\n\n`)
      }
      const catchUp = () =>
        serially(async () => {
          if (closed) return
          if (!(await guard.alive(true))) return close()
          repoId ??= (await store.findRepo(orgId, name))?.id ?? null
          if (repoId !== null) for (const execution of await store.after(repoId, name, lastSent)) send(execution)
        })
      controller.enqueue(encoder.encode(': connected\nretry: 3000\n\n'))
      if (lastEventId !== null) catchUp()
      const unsubscribe = bus.subscribe(streamKey(orgId, name), send)
      const heartbeat = setInterval(() => write(': heartbeat\n\n'), timing.heartbeatMs)
      const poll = setInterval(catchUp, timing.pollMs)
      const cleanup = () => {
        if (closed) return
        closed = true
        unsubscribe()
        clearInterval(heartbeat)
        clearInterval(poll)
        signal.removeEventListener('abort', close)
        release()
      }
      close = () => {
        if (closed) return
        cleanup()
        try {
          controller.close()
        } catch {
          // already closed by the client
        }
      }
      signal.addEventListener('abort', close)
      // The client may have gone while the slot was being taken: the listener would never fire.
      if (signal.aborted) close()
    },
    cancel() {
      close()
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
