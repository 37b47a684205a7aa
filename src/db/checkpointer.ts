import type { Logger } from '../lib/logger'
import type { SqliteDb } from './types'

const RETRY_FIRST_MS = 1000
const RETRY_MAX_MS = 60_000

/**
 * Takes the work of WAL checkpoints off the request thread. SQLite's automatic checkpoint runs inside the
 * commit that crosses 1,000 WAL pages, and copying those pages held that commit for 60-100 ms under
 * sustained ingestion. A worker with its own connection now copies frames back every `intervalMs`
 * (PASSIVE: it never blocks readers or the writer). The writer keeps its automatic checkpoint, which finds
 * almost nothing left to copy; it is still needed because only a checkpoint that reaches the end of the
 * log lets the next write restart the WAL from the beginning, and a passive checkpointer racing a
 * continuous writer never gets there (the WAL grew to ~1 GB in 8 s without it).
 *
 * The worker is an optimisation, never a reason to stop serving: if it cannot start (no descriptors left,
 * say) or dies, that is logged and it is started again with back-off (1 s, doubling, at most 60 s).
 * Returns a function that stops the worker and any pending retry.
 */
export function startCheckpointer(
  db: SqliteDb,
  logger: Pick<Logger, 'warn'>,
  options: { intervalMs?: number; spawn?: () => Worker } = {},
): () => void {
  const { path } = db
  if (path === ':memory:') return () => {}
  const intervalMs = options.intervalMs ?? 250
  const spawn = options.spawn ?? (() => new Worker(new URL('./checkpoint-worker.ts', import.meta.url)))
  let worker: Worker | undefined
  let retry: ReturnType<typeof setTimeout> | undefined
  let delay = RETRY_FIRST_MS
  let stopped = false

  const later = (reason: string) => {
    worker = undefined
    if (stopped) return
    logger.warn('checkpoint worker unavailable; retrying', { reason, retry_in_ms: delay })
    retry = setTimeout(start, delay)
    ;(retry as { unref?: () => void }).unref?.()
    delay = Math.min(delay * 2, RETRY_MAX_MS)
  }

  function start() {
    retry = undefined
    try {
      const started = spawn()
      started.addEventListener('error', (event) => {
        started.terminate()
        if (worker === started) later((event as ErrorEvent).message ?? 'worker error')
      })
      started.postMessage({ path, intervalMs })
      ;(started as Worker & { unref?: () => void }).unref?.()
      worker = started
      delay = RETRY_FIRST_MS
    } catch (error) {
      later(error instanceof Error ? error.message : String(error))
    }
  }

  start()
  return () => {
    stopped = true
    if (retry) clearTimeout(retry)
    worker?.terminate()
  }
}
