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
 * table, one atomic upsert per request (the default on PostgreSQL); or `redis` (the default when REDIS_URL
 * is set), one Lua script per request (rate-limit-redis.ts). With either shared store every instance
 * enforces one limit: a client spread over N instances gets its limit, not N × it.
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

/*
 * The same arithmetic in one statement: the row moves to max(tat, now) + interval only when that leaves
 * the key inside its allowance, atomically (a row lock), so instances racing for a key's last request
 * cannot both get it. No row back means refused; the refusal's headers read the TAT once more.
 */
const TAKE = `INSERT INTO rate_limits (key, tat) VALUES (?, ?)
  ON CONFLICT (key) DO UPDATE SET tat = (CASE WHEN rate_limits.tat > ? THEN rate_limits.tat ELSE ? END) + ?
  WHERE (CASE WHEN rate_limits.tat > ? THEN rate_limits.tat ELSE ? END) + ? - ? <= ?
  RETURNING tat`

export type SharedTake = (key: string, limit: number) => Promise<RateDecision>

/** The `database` store: one upsert per request, shared by every instance on the database. */
export function databaseTake(db: Db, clock: Clock) {
  return async (key: string, limit: number): Promise<RateDecision> => {
    const now = clock.now()
    const interval = GCRA_WINDOW_MS / limit
    const row = await db.get<{ tat: number }>(TAKE, [key, now + interval, now, now, interval, now, now, interval, GCRA_WINDOW_MS, now])
    if (row) return allowed(limit, now, row.tat, interval)
    const tat = Math.max((await db.get<{ tat: number }>('SELECT tat FROM rate_limits WHERE key = ?', [key]))?.tat ?? now, now)
    return denied(limit, now, tat, tat + interval - GCRA_WINDOW_MS)
  }
}

/** `shared`: the database or Redis store's take; without it, this process's memory. */
export function createRateLimiter(clock: Clock, onReject?: (kind: string) => void, shared?: SharedTake) {
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

  const take: (key: string, limit: number) => MaybePromise<RateDecision> = shared ?? takeHere

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
    size: () => tats.size,
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>

/** The per-client-address limit of unauthenticated routes: sets RateLimit-* headers, throws 429 when spent. */
export type AddressLimit = (request: Request, server: Peer, set: { headers: Record<string, unknown> }) => MaybePromise<void>
