import type { Db } from '../../db/client'
import { get, lock, run } from '../../db/work'
import { HttpError } from '../../http/errors'
import type { Clock } from '../../lib/clock'
import type { Logger } from '../../lib/logger'
import type { MaybePromise } from '../../lib/maybe'

/** How many event streams may be open at once: per credential and per organisation by plan, and in all. */
export interface StreamCaps {
  perCredential: number
  perOrg: number
  /** One client address (an IPv4 address or an IPv6 /64), whatever credentials it uses: a flood from one address cannot take every descriptor. */
  perAddress: number
  /** The whole process: derived from the descriptor limit so streams can never starve other requests. */
  total: number
}

/** A cap is full: 429 with Retry-After (a stream slot frees when a client goes away). */
const full = (message: string) => new HttpError(429, message, { 'retry-after': '10' })

/** How long a lease counts without being renewed: an instance that dies frees its streams' slots after this. */
export const LEASE_MS = 30_000

/**
 * Where the per-credential and per-organisation counts live when several instances share a database:
 * one `stream_leases` row per open stream, checked and taken under the organisation's lock. Each instance
 * renews its own rows every third of LEASE_MS; the rows of an instance that died stop counting when they
 * expire (and are deleted by the next check of their organisation or by the retention sweep).
 */
export interface SharedLeases {
  db: Db
  clock: Clock
  logger: Pick<Logger, 'warn'>
  leaseMs?: number
}

function* claimLease(lease: { id: string; instance: string; credential: string; orgId: string }, caps: StreamCaps, now: number, leaseMs: number) {
  yield* lock(`streams:${lease.orgId}`)
  yield* run('DELETE FROM stream_leases WHERE org_id = ? AND expires_at <= ?', [lease.orgId, now])
  const open = (yield* get<{ org: number; mine: number }>(
    'SELECT count(*) AS org, COALESCE(SUM(CASE WHEN credential = ? THEN 1 ELSE 0 END), 0) AS mine FROM stream_leases WHERE org_id = ?',
    [lease.credential, lease.orgId],
  ))!
  if (open.org >= caps.perOrg) throw full(`too many open event streams for this organisation (${open.org}/${caps.perOrg})`)
  if (open.mine >= caps.perCredential) throw full(`too many open event streams for this credential (${open.mine}/${caps.perCredential})`)
  yield* run('INSERT INTO stream_leases (id, instance, credential, org_id, expires_at) VALUES (?, ?, ?, ?, ?)', [
    lease.id,
    lease.instance,
    lease.credential,
    lease.orgId,
    now + leaseMs,
  ])
}

/**
 * Counts open streams and ends them when their credential ends. Each stream holds one slot from
 * `acquire` until it closes; `end(credential)` closes every stream opened with that credential here (a
 * revoke, a rotation cutting a grace period short, a logout) at once. The process-wide cap is always
 * counted here (it protects this process's descriptors); with `shared`, the per-credential and
 * per-organisation caps are counted over every instance on the database.
 */
export function createStreamRegistry(shared?: SharedLeases) {
  const byCredential = new Map<string, Set<() => void>>()
  const byOrg = new Map<string, number>()
  const byAddress = new Map<string, number>()
  const instance = crypto.randomUUID()
  const leaseMs = shared?.leaseMs ?? LEASE_MS
  let total = 0

  /** This process's slot: throws 429 when a cap is full here already (a shared count can only be higher). */
  function takeHere(credential: string, orgId: string, address: string, caps: StreamCaps, close: () => void): () => void {
    const mine = byCredential.get(credential)
    const orgOpen = byOrg.get(orgId) ?? 0
    const fromAddress = byAddress.get(address) ?? 0
    if (total >= caps.total) throw full(`too many open event streams on this server (${total}/${caps.total})`)
    if (fromAddress >= caps.perAddress) throw full(`too many open event streams from this address (${fromAddress}/${caps.perAddress})`)
    if (orgOpen >= caps.perOrg) throw full(`too many open event streams for this organisation (${orgOpen}/${caps.perOrg})`)
    if ((mine?.size ?? 0) >= caps.perCredential)
      throw full(`too many open event streams for this credential (${mine!.size}/${caps.perCredential})`)
    const set = mine ?? new Set()
    if (!mine) byCredential.set(credential, set)
    set.add(close)
    byOrg.set(orgId, orgOpen + 1)
    byAddress.set(address, fromAddress + 1)
    total++
    let released = false
    return () => {
      if (released) return
      released = true
      set.delete(close)
      if (set.size === 0) byCredential.delete(credential)
      const left = (byOrg.get(orgId) ?? 1) - 1
      if (left === 0) byOrg.delete(orgId)
      else byOrg.set(orgId, left)
      const fromHere = (byAddress.get(address) ?? 1) - 1
      if (fromHere === 0) byAddress.delete(address)
      else byAddress.set(address, fromHere)
      total--
    }
  }

  const warn = (what: string) => (error: unknown) => shared?.logger.warn(what, { error: (error as Error).message })
  // Renews this instance's leases while it has streams open; unref'd so it never keeps a process alive.
  const renewal = shared
    ? setInterval(() => {
        if (total > 0)
          shared.db.run('UPDATE stream_leases SET expires_at = ? WHERE instance = ?', [shared.clock.now() + leaseMs, instance]).catch(warn('stream leases not renewed'))
      }, Math.max(10, Math.floor(leaseMs / 3)))
    : undefined
  renewal?.unref()

  return {
    /**
     * Takes a slot for one stream, or throws 429 naming the cap that is full. `close` ends the stream
     * (called by `end`); the returned function gives the slot back and is safe to call more than once.
     */
    acquire(credential: string, orgId: string, address: string, caps: StreamCaps, close: () => void): MaybePromise<() => void> {
      const release = takeHere(credential, orgId, address, caps, close)
      if (!shared) return release
      const id = crypto.randomUUID()
      return shared.db.tx(() => claimLease({ id, instance, credential, orgId }, caps, shared.clock.now(), leaseMs)).then(
        () => {
          let released = false
          return () => {
            if (released) return
            released = true
            release()
            shared.db.run('DELETE FROM stream_leases WHERE id = ?', [id]).catch(warn('stream lease not released; it expires by itself'))
          }
        },
        (error) => {
          release()
          throw error
        },
      )
    },
    /** Ends every open stream of this credential (each releases its own slot as it closes). */
    end(credential: string): void {
      const set = byCredential.get(credential)
      if (set) for (const close of [...set]) close()
    },
    open: () => total,
    stop(): void {
      clearInterval(renewal)
    },
  }
}

export type StreamRegistry = ReturnType<typeof createStreamRegistry>
