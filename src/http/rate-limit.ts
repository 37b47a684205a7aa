import type { Db } from '../db/client'
import type { Clock } from '../lib/clock'
import { andThen, type MaybePromise } from '../lib/maybe'
import type { Peer } from './client-address'
import { tooManyRequests } from './errors'

/*
 * GCRA (the generic cell rate algorithm), one number per key: the "theoretical arrival time" (TAT) of
 * the next request. A key may spend its whole per-minute allowance at once, then earns it back at a
 * steady rate (one request every 60 s / limit); unlike fixed windows it never allows a second full
 * burst just because a minute boundary passed.
 *
 * Where the state lives (RATE_LIMIT_STORE): `memory`, this process's Map (bounded by MAX_KEYS; keys whose
 * TAT has passed are equivalent to absent and are pruned), for one process; `database`, the `rate_limits`
 * table (the default on PostgreSQL); or `redis` (the default when REDIS_URL is set, rate-limit-redis.ts).
 * With either shared store every instance decides locally and syncs in batches (rate-limit-sync.ts): a
 * client spread over N instances gets its limit plus at most (N - 1) × q, not N × it.
 */
/** The window a per-minute limit is spread over (every store uses it). */
export const GCRA_WINDOW_MS = 60_000
const MAX_KEYS = 100_000

export interface RateDecision {
  allowed: boolean
  headers: Record<string, string>
}

export function denied(limit: number, now: number, tat: number, allowAt: number): RateDecision {
  return {
    allowed: false,
    headers: {
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': '0',
      'ratelimit-reset': String(Math.ceil((tat - now) / 1000)),
      'retry-after': String(Math.max(1, Math.ceil((allowAt - now) / 1000))),
    },
  }
}

export function allowed(limit: number, now: number, next: number, interval: number): RateDecision {
  return {
    allowed: true,
    headers: {
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': String(Math.max(0, Math.floor((now + GCRA_WINDOW_MS - next) / interval + 1e-9))),
      'ratelimit-reset': String(Math.ceil((next - now) / 1000)),
    },
  }
}

/** A shared store (`database`, `redis`): adds each key's grants to its TAT, one round trip per batch. */
export interface SharedStore {
  /**
   * For each entry, `tat = max(tat, base) + add` (ms), unconditionally: the grants were made already, the
   * first of them when the key's TAT was `base`. Answers each key's new TAT in order. With no entries it
   * only proves the store answers.
   */
  add(entries: readonly SharedGrant[]): Promise<number[]>
}

export interface SharedGrant {
  key: string
  base: number
  add: number
}

/** Rows per statement: 4 parameters each, far inside both dialects' limits. */
const BATCH_ROWS = 500

/** The `database` store: one upsert for a whole batch of keys, shared by every instance on the database. */
export function databaseStore(db: Db): SharedStore {
  const greatest = db.dialect === 'postgres' ? 'GREATEST' : 'MAX'
  return {
    async add(entries) {
      if (entries.length === 0) {
        await db.get('SELECT 1 AS one')
        return []
      }
      const tats: number[] = []
      for (let at = 0; at < entries.length; at += BATCH_ROWS) {
        const slice = entries.slice(at, at + BATCH_ROWS)
        // Inserted: base + add. On a key that exists: max(tat, base) + add = (base + add) + max(tat - base, 0).
        const rows = await db.all<{ key: string; tat: number }>(
          `INSERT INTO rate_limits (key, tat) VALUES ${slice.map(() => '(?, ?)').join(', ')}
            ON CONFLICT (key) DO UPDATE SET tat = excluded.tat
              + ${greatest}(rate_limits.tat - (CASE excluded.key ${slice.map(() => 'WHEN ? THEN ?').join(' ')} END), 0)
            RETURNING key, tat`,
          // Whole milliseconds (PostgreSQL's column is a bigint), rounded down: never more than was granted.
          [...slice.flatMap(({ key, base, add }) => [key, Math.floor(base + add)]), ...slice.flatMap(({ key, base }) => [key, Math.floor(base)])],
        )
        const byKey = new Map(rows.map((row) => [row.key, Number(row.tat)]))
        for (const { key } of slice) tats.push(byKey.get(key)!)
      }
      return tats
    },
  }
}

/** A shared store's local decisions (syncedTake in rate-limit-sync.ts). */
export interface SharedLimiter {
  take(key: string, limit: number): MaybePromise<RateDecision>
  size(): number
  stop(): Promise<void>
}

/** `shared`: the database or Redis store, decided locally and synced in batches; without it, this process's memory. */
export function createRateLimiter(clock: Clock, onReject?: (kind: string) => void, shared?: SharedLimiter) {
  const tats = new Map<string, number>()

  function prune(now: number): void {
    for (const [key, tat] of tats) if (tat <= now) tats.delete(key)
    // Still full of live keys: forget the oldest-inserted ones rather than grow without bound.
    while (tats.size >= MAX_KEYS) tats.delete(tats.keys().next().value!)
  }

  /** The `memory` store: takes one request from `key`'s allowance of `limit` per minute; never throws. */
  function takeHere(key: string, limit: number): RateDecision {
    const now = clock.now()
    const interval = GCRA_WINDOW_MS / limit
    const tat = Math.max(tats.get(key) ?? now, now)
    const next = tat + interval
    const allowAt = next - GCRA_WINDOW_MS
    if (now < allowAt) return denied(limit, now, tat, allowAt)
    if (!tats.has(key) && tats.size >= MAX_KEYS) prune(now)
    tats.set(key, next)
    return allowed(limit, now, next, interval)
  }

  const take: (key: string, limit: number) => MaybePromise<RateDecision> = shared ? shared.take : takeHere

  return {
    take,
    /** Takes one request, sets the RateLimit-* headers, and throws 429 when the allowance is spent. */
    enforce(kind: string, key: string, limit: number, headers: Record<string, unknown>): MaybePromise<void> {
      return andThen(take(key, limit), (decision) => {
        Object.assign(headers, decision.headers)
        if (!decision.allowed) {
          onReject?.(kind)
          throw tooManyRequests(decision.headers)
        }
      })
    },
    size: () => (shared ? shared.size() : tats.size),
    /** Pushes the shared store's unsynced grants and stops its timer. */
    stop: async () => shared?.stop(),
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>

/** The per-client-address limit of unauthenticated routes: sets RateLimit-* headers, throws 429 when spent. */
export type AddressLimit = (request: Request, server: Peer, set: { headers: Record<string, unknown> }) => MaybePromise<void>
