import type { Clock } from '../lib/clock'
import type { Peer } from './client-address'
import { tooManyRequests } from './errors'

/*
 * GCRA (the generic cell rate algorithm), one number per key: the "theoretical arrival time" (TAT) of
 * the next request. A key may spend its whole per-minute allowance at once, then earns it back at a
 * steady rate (one request every 60 s / limit); unlike fixed windows it never allows a second full
 * burst just because a minute boundary passed.
 *
 * Where the state lives: in this process's memory (a Map bounded by MAX_KEYS; keys whose TAT has passed
 * are equivalent to absent and are pruned). With several instances behind a load balancer each one
 * enforces the limit separately, so a client spread over N instances gets up to N × the limit; sharing
 * the limit means moving these TATs to a shared store (for example one Redis key per credential updated
 * by the same arithmetic in a Lua script).
 */
const WINDOW_MS = 60_000
const MAX_KEYS = 100_000

export interface RateDecision {
  allowed: boolean
  headers: Record<string, string>
}

export function createRateLimiter(clock: Clock, onReject?: (kind: string) => void) {
  const tats = new Map<string, number>()

  function prune(now: number): void {
    for (const [key, tat] of tats) if (tat <= now) tats.delete(key)
    // Still full of live keys: forget the oldest-inserted ones rather than grow without bound.
    while (tats.size >= MAX_KEYS) tats.delete(tats.keys().next().value!)
  }

  /** Takes one request from `key`'s allowance of `limit` per minute; never throws. */
  function take(key: string, limit: number): RateDecision {
    const now = clock.now()
    const interval = WINDOW_MS / limit
    const tat = Math.max(tats.get(key) ?? now, now)
    const next = tat + interval
    const allowAt = next - WINDOW_MS
    if (now < allowAt) {
      const resetMs = tat - now
      return {
        allowed: false,
        headers: {
          'ratelimit-limit': String(limit),
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(Math.ceil(resetMs / 1000)),
          'retry-after': String(Math.max(1, Math.ceil((allowAt - now) / 1000))),
        },
      }
    }
    if (!tats.has(key) && tats.size >= MAX_KEYS) prune(now)
    tats.set(key, next)
    return {
      allowed: true,
      headers: {
        'ratelimit-limit': String(limit),
        'ratelimit-remaining': String(Math.max(0, Math.floor((now + WINDOW_MS - next) / interval + 1e-9))),
        'ratelimit-reset': String(Math.ceil((next - now) / 1000)),
      },
    }
  }

  return {
    take,
    /** Takes one request, sets the RateLimit-* headers, and throws 429 when the allowance is spent. */
    enforce(kind: string, key: string, limit: number, headers: Record<string, unknown>): void {
      const decision = take(key, limit)
      Object.assign(headers, decision.headers)
      if (!decision.allowed) {
        onReject?.(kind)
        throw tooManyRequests(decision.headers)
      }
    },
    size: () => tats.size,
  }
}

export type RateLimiter = ReturnType<typeof createRateLimiter>

/** The per-client-address limit of unauthenticated routes: sets RateLimit-* headers, throws 429 when spent. */
export type AddressLimit = (request: Request, server: Peer, set: { headers: Record<string, any> }) => void
