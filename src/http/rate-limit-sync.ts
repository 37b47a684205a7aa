import type { Clock } from '../lib/clock'
import type { MaybePromise } from '../lib/maybe'
import { GCRA_WINDOW_MS, allowed, denied, type RateDecision, type SharedStore } from './rate-limit'

/*
 * Shared limits without a round trip per request (the `database` and `redis` stores): each instance
 * decides from its own view of a key's TAT and reconciles with the shared store in batches, as Unkey's
 * limiter does with its origin.
 *
 * - A request is decided against the local view: the TAT last read from the store plus what this
 *   instance has granted since (its `pending` count). No round trip.
 * - Every `syncMs` (RATE_LIMIT_SYNC_MS, 50 ms) one batch pushes every key's pending count to the store
 *   (`tat = max(tat, now) + pending × interval`, one statement or one script for all keys) and reads back
 *   the TAT the other instances made.
 * - A key may hold at most q = max(1, ⌈syncMs / interval⌉) unsynced grants (pending or in a batch on its
 *   way), what its limit earns in one sync interval. The grant that reaches q starts a batch at once ("sooner when a key nears its limit");
 *   a request that finds q unsynced waits for that batch and is then decided on the fresh view.
 *
 * The bound: every instance grants at most q per key between two of its syncs, and each sync sees all
 * the others have pushed, so N instances grant at most the limit + (N - 1) × q in any window (what one
 * exact limiter would grant, plus what the others hold unsynced). With the default 50 ms: q = 1 up to
 * 1,200 a minute, so 3 instances overshoot a limit of 60 or 600 by at most 2 requests; at the enterprise
 * 6,000 a minute, q = 5 and at most 10. Whatever is granted beyond is charged to the store all the same,
 * so the key is refused for that much longer afterwards; the long-run rate is the limit.
 *
 * Failure stays closed: a batch that fails keeps its counts for the next one, and until a batch succeeds
 * every request waits for the next attempt and gets its error (503), never an unlimited grant.
 */
const MAX_KEYS = 100_000

interface Entry {
  tat: number
  /** Granted here and not yet sent to the store. */
  pending: number
  /** Granted here and on their way to the store in the batch now running. */
  inflight: number
  /** The TAT before the first unsynced grant (what the store adds to, unless the others moved it on). */
  base: number
  interval: number
}

export function syncedTake(store: SharedStore, clock: Clock, syncMs: number) {
  const entries = new Map<string, Entry>()
  let running: Promise<void> | null = null
  let queued: Promise<void> | null = null
  /** Set while the store is away: every request then waits for the next batch and shares its answer. */
  let failed = false

  async function sync(): Promise<void> {
    const batch: { key: string; entry: Entry; n: number; base: number }[] = []
    for (const [key, entry] of entries) {
      if (entry.pending === 0) continue
      batch.push({ key, entry, n: entry.pending, base: entry.base })
      entry.inflight = entry.pending
      entry.pending = 0
    }
    if (batch.length === 0 && !failed) return
    try {
      const tats = await store.add(batch.map(({ key, entry, n, base }) => ({ key, base, add: n * entry.interval })))
      failed = false
      // The store's TAT holds this batch and the other instances' grants; what was granted here while the
      // batch was away goes on top of it.
      batch.forEach(({ entry }, i) => {
        entry.inflight = 0
        entry.tat = Math.max(entry.tat, tats[i]! + entry.pending * entry.interval)
      })
    } catch (error) {
      failed = true
      // Sent again with the next batch, from the earlier base.
      for (const { entry, n, base } of batch) {
        entry.base = base
        entry.inflight = 0
        entry.pending += n
      }
      throw error
    }
  }

  /** A batch that starts after this call (requests waiting on it see their own grants pushed). */
  function nextSync(): Promise<void> {
    if (!running) {
      running = sync().finally(() => (running = null))
      return running
    }
    queued ??= running.catch(() => {}).then(() => ((queued = null), nextSync()))
    return queued
  }

  const timer = setInterval(() => {
    if (!running) nextSync().catch(() => {})
  }, syncMs)
  timer.unref?.()

  function prune(now: number): void {
    const idle = (entry: Entry) => entry.pending === 0 && entry.inflight === 0
    for (const [key, entry] of entries) if (idle(entry) && entry.tat <= now) entries.delete(key)
    for (const [key, entry] of entries) {
      if (entries.size < MAX_KEYS) break
      if (idle(entry)) entries.delete(key)
    }
  }

  function take(key: string, limit: number): MaybePromise<RateDecision> {
    const now = clock.now()
    const interval = GCRA_WINDOW_MS / limit
    let entry = entries.get(key)
    if (!entry) {
      if (entries.size >= MAX_KEYS) prune(now)
      entry = { tat: now, pending: 0, inflight: 0, base: now, interval }
      entries.set(key, entry)
    }
    entry.interval = interval
    const quota = Math.max(1, Math.ceil(syncMs / interval))
    if (failed || entry.pending + entry.inflight >= quota) return nextSync().then(() => take(key, limit))
    const tat = Math.max(entry.tat, now)
    const next = tat + interval
    if (next - GCRA_WINDOW_MS > now) return denied(limit, now, tat, next - GCRA_WINDOW_MS)
    if (entry.pending === 0) entry.base = tat
    entry.tat = next
    if (++entry.pending + entry.inflight === quota && !running) nextSync().catch(() => {})
    return allowed(limit, now, next, interval)
  }

  return {
    take,
    size: () => entries.size,
    /** Pushes what is unsynced (at shutdown) and stops the timer. */
    async stop(): Promise<void> {
      clearInterval(timer)
      await nextSync().catch(() => {})
    },
  }
}
