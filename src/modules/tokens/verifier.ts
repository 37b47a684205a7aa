import type { Db } from '../../db/client'
import type { Logger } from '../../lib/logger'
import type { MaybePromise } from '../../http/auth'
import type { Clock } from '../../lib/clock'
import { sha256Hex } from '../../lib/hash'
import { effectiveStatus, isApiTokenFormat } from './status'

export interface VerifiedToken {
  tokenId: string
  orgId: string
  scopes: string[]
  agentType: string
  /**
   * The rate-limit bucket: a rotated token in its grace period shares its successor's, so a rotation
   * never doubles a credential's allowance.
   */
  bucket: string
}

interface CachedToken {
  tokenId: string
  orgId: string
  scopes: string[]
  agentType: string
  status: 'active' | 'rotating' | 'revoked'
  graceEndsAt: number | null
  replacedBy: string | null
  /** When this entry was read from the database; entries older than CACHE_TTL_MS are read again. */
  loadedAt: number
  /** When last_used_at was last written for this token. */
  lastUsedWrittenAt: number
}

/*
 * Validated tokens are cached in this process, keyed by the SHA-256 of the whole secret (the lookup key
 * in the database too). A revoke, rotation or edit here deletes the entry at once; another instance
 * sharing the database sees such a change within CACHE_TTL_MS, when its entry is re-read.
 *
 * Unknown secrets are never cached: an unknown token and a known token's id with a wrong secret take the
 * same path (hash, one index lookup, no row), so their timing says nothing.
 */
const CACHE_TTL_MS = 30_000
const MAX_ENTRIES = 10_000
/** last_used_at is kept to the minute: at most one write per token per minute, not one per request. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000

export interface TokenVerifier {
  /** A cached token answers at once; a miss reads the database. */
  verify(raw: string): MaybePromise<VerifiedToken | null>
  /**
   * The rate-limit bucket of the token with this id while it is accepted (its successor's in a grace
   * period), else null; `fresh` reads the database whatever the cache holds.
   */
  bucketOf(tokenId: string, fresh?: boolean): MaybePromise<string | null>
  invalidate(tokenId: string): void
  /** Drops every entry (a change announced by another instance may have been missed). */
  flush(): void
  /** Resolves once the bookkeeping writes started so far (last_used_at) have landed. */
  settled(): Promise<void>
  stats: { hits: number; misses: number }
}

/** Told of every validation, for metrics. */
export interface VerifierObserver {
  cache(hit: boolean): void
  validation(valid: boolean): void
}

type Row = {
  id: string
  org_id: string
  scopes: string
  agent_type: string
  status: CachedToken['status']
  grace_ends_at: number | null
  replaced_by: string | null
  last_used_at: number | null
}

const COLUMNS = 'id, org_id, scopes, agent_type, status, grace_ends_at, replaced_by, last_used_at'

const BY_HASH = `SELECT ${COLUMNS} FROM api_tokens WHERE secret_hash = ?`
const BY_ID = 'SELECT status, grace_ends_at, replaced_by FROM api_tokens WHERE id = ?'
const TOUCH = 'UPDATE api_tokens SET last_used_at = ? WHERE id = ?'

const bucketFor = (token: { status: CachedToken['status']; replacedBy: string | null; tokenId: string }) =>
  token.status === 'rotating' && token.replacedBy ? token.replacedBy : token.tokenId

export function createTokenVerifier(db: Db, clock: Clock, observe?: VerifierObserver, logger?: Pick<Logger, 'warn'>): TokenVerifier {
  const cache = new Map<string, CachedToken>()
  /** token id → hash, so an invalidation by id finds the entry. */
  const hashOf = new Map<string, string>()
  const stats = { hits: 0, misses: 0 }
  const pending = new Set<Promise<unknown>>()

  function forget(hash: string): void {
    const entry = cache.get(hash)
    if (!entry) return
    cache.delete(hash)
    hashOf.delete(entry.tokenId)
  }

  async function load(hash: string, now: number): Promise<CachedToken | null> {
    const row = await db.get<Row>(BY_HASH, [hash])
    forget(hash)
    if (!row) return null
    if (cache.size >= MAX_ENTRIES) forget(cache.keys().next().value!)
    const entry: CachedToken = {
      tokenId: row.id,
      orgId: row.org_id,
      scopes: JSON.parse(row.scopes),
      agentType: row.agent_type,
      status: row.status,
      graceEndsAt: row.grace_ends_at,
      replacedBy: row.replaced_by,
      loadedAt: now,
      lastUsedWrittenAt: row.last_used_at ?? 0,
    }
    cache.set(hash, entry)
    hashOf.set(row.id, hash)
    return entry
  }

  function accept(entry: CachedToken | null, now: number): VerifiedToken | null {
    if (!entry || effectiveStatus(entry, now) === 'revoked') return null
    if (now - entry.lastUsedWrittenAt >= LAST_USED_WRITE_INTERVAL_MS) {
      entry.lastUsedWrittenAt = now
      // Bookkeeping, never a reason to refuse a valid token: a failed write is logged and retried next minute.
      const write = db
        .run(TOUCH, [now, entry.tokenId])
        .catch((error) => {
          entry.lastUsedWrittenAt = 0
          logger?.warn('last_used_at not written', { error: (error as Error).message })
        })
        .finally(() => pending.delete(write))
      pending.add(write)
    }
    const bucket = bucketFor(entry)
    return { tokenId: entry.tokenId, orgId: entry.orgId, scopes: entry.scopes, agentType: entry.agentType, bucket }
  }

  function check(raw: string): MaybePromise<VerifiedToken | null> {
    if (!isApiTokenFormat(raw)) return null
    const now = clock.now()
    const hash = sha256Hex(raw)
    const entry = cache.get(hash)
    const hit = entry !== undefined && now - entry.loadedAt < CACHE_TTL_MS
    if (hit) stats.hits++
    else stats.misses++
    observe?.cache(hit)
    if (hit) return accept(entry, now)
    return load(hash, now).then((loaded) => accept(loaded, now))
  }

  function bucketOf(tokenId: string, fresh = false): MaybePromise<string | null> {
    const now = clock.now()
    const hash = hashOf.get(tokenId)
    const entry = hash === undefined ? undefined : cache.get(hash)
    if (entry && !fresh && now - entry.loadedAt < CACHE_TTL_MS) return effectiveStatus(entry, now) === 'revoked' ? null : bucketFor(entry)
    return db.get<Pick<Row, 'status' | 'grace_ends_at' | 'replaced_by'>>(BY_ID, [tokenId]).then((row) => {
      if (row === null || effectiveStatus({ status: row.status, graceEndsAt: row.grace_ends_at }, clock.now()) === 'revoked') return null
      return bucketFor({ status: row.status, replacedBy: row.replaced_by, tokenId })
    })
  }

  const observed = (result: VerifiedToken | null) => {
    observe?.validation(result !== null)
    return result
  }

  return {
    stats,
    verify(raw) {
      const result = check(raw)
      return result instanceof Promise ? result.then(observed) : observed(result)
    },
    bucketOf,
    invalidate(tokenId) {
      const hash = hashOf.get(tokenId)
      if (hash !== undefined) forget(hash)
    },
    flush() {
      cache.clear()
      hashOf.clear()
    },
    async settled() {
      await Promise.all([...pending])
    },
  }
}
