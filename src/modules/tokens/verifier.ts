import type { Db } from '../../db/client'
import type { Clock } from '../../lib/clock'
import { safeEqual, sha256Hex } from '../../lib/hash'
import { effectiveStatus, tokenIdOf } from './status'

export interface VerifiedToken {
  tokenId: string
  orgId: string
  scopes: string[]
  agentType: string
}

interface CachedToken {
  orgId: string
  secretHash: string
  scopes: string[]
  agentType: string
  status: 'active' | 'rotating' | 'revoked'
  graceEndsAt: number | null
  /** When this entry was read from the database; entries older than CACHE_TTL_MS are read again. */
  loadedAt: number
  /** When last_used_at was last written for this token. */
  lastUsedWrittenAt: number
}

/*
 * Validated tokens are cached in this process. A revoke, rotation or edit here deletes the entry at once;
 * another instance sharing the database sees such a change within CACHE_TTL_MS, when its entry is re-read.
 */
const CACHE_TTL_MS = 30_000
const MAX_ENTRIES = 10_000
/** last_used_at is kept to the minute: at most one write per token per minute, not one per request. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000

export interface TokenVerifier {
  verify(raw: string): VerifiedToken | null
  invalidate(tokenId: string): void
  stats: { hits: number; misses: number }
}

/** Told of every validation, for metrics. */
export interface VerifierObserver {
  cache(hit: boolean): void
  validation(valid: boolean): void
}

export function createTokenVerifier(db: Db, clock: Clock, observe?: VerifierObserver): TokenVerifier {
  const cache = new Map<string, CachedToken>()
  const stats = { hits: 0, misses: 0 }
  const select = db.sqlite.prepare<
    { org_id: string; secret_hash: string; scopes: string; agent_type: string; status: CachedToken['status']; grace_ends_at: number | null; last_used_at: number | null },
    [string]
  >('SELECT org_id, secret_hash, scopes, agent_type, status, grace_ends_at, last_used_at FROM api_tokens WHERE id = ?')
  const touch = db.sqlite.prepare<unknown, [number, string]>('UPDATE api_tokens SET last_used_at = ? WHERE id = ?')

  function load(tokenId: string, now: number): CachedToken | null {
    const row = select.get(tokenId)
    if (!row) return null
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!)
    const entry: CachedToken = {
      orgId: row.org_id,
      secretHash: row.secret_hash,
      scopes: JSON.parse(row.scopes),
      agentType: row.agent_type,
      status: row.status,
      graceEndsAt: row.grace_ends_at,
      loadedAt: now,
      lastUsedWrittenAt: row.last_used_at ?? 0,
    }
    cache.set(tokenId, entry)
    return entry
  }

  return {
    stats,
    verify(raw) {
      const result = check(raw)
      observe?.validation(result !== null)
      return result
    },
    invalidate(tokenId) {
      cache.delete(tokenId)
    },
  }

  function check(raw: string): VerifiedToken | null {
      const tokenId = tokenIdOf(raw)
      if (tokenId === null) return null
      const now = clock.now()
      let entry = cache.get(tokenId)
      const hit = entry !== undefined && now - entry.loadedAt < CACHE_TTL_MS
      if (hit) stats.hits++
      else stats.misses++
      observe?.cache(hit)
      if (!hit) {
        entry = load(tokenId, now) ?? undefined
        if (!entry) return null
      }
      if (!safeEqual(sha256Hex(raw), entry!.secretHash)) return null
      if (effectiveStatus(entry!, now) === 'revoked') return null
      entry = entry!
      if (now - entry.lastUsedWrittenAt >= LAST_USED_WRITE_INTERVAL_MS) {
        entry.lastUsedWrittenAt = now
        touch.run(now, tokenId)
      }
      return { tokenId, orgId: entry.orgId, scopes: entry.scopes, agentType: entry.agentType }
  }
}
