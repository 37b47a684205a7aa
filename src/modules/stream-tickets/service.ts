import type { Db } from '../../db/client'
import { isoSeconds, type Clock } from '../../lib/clock'
import { sha256Hex } from '../../lib/hash'
import { randomHex } from '../../lib/ids'

export interface StreamTicket {
  orgId: string
  repo: string
  /** The credential that asked for it: `t:<token id>` or `s:<session id>`. */
  parent: string
}

const TICKET_FORMAT = /^nlt_[0-9a-f]{64}$/

/**
 * Stream tickets: `nlt_` + 64 hex (256 random bits), stored as SHA-256 only, bound to one organisation
 * and repository, usable until they expire (so EventSource's automatic reconnect with the same URL works),
 * and only while their parent credential is (checked by the caller on every use).
 */
export function createStreamTickets(db: Db, clock: Clock, ttlSeconds: number) {
  return {
    async issue(ticket: StreamTicket): Promise<{ ticket: string; expires_at: string }> {
      const now = clock.now()
      const raw = `nlt_${randomHex(32)}`
      const expiresAt = now + ttlSeconds * 1000
      await db.run('INSERT INTO stream_tickets (ticket_hash, org_id, repo, parent, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
        sha256Hex(raw), ticket.orgId, ticket.repo, ticket.parent, expiresAt, now,
      ])
      return { ticket: raw, expires_at: isoSeconds(expiresAt) }
    },
    /** The ticket's binding, or null when it is unknown, malformed or expired. */
    async resolve(raw: string): Promise<StreamTicket | null> {
      if (!TICKET_FORMAT.test(raw)) return null
      const row = await db.get<{ org_id: string; repo: string; parent: string; expires_at: number }>(
        'SELECT org_id, repo, parent, expires_at FROM stream_tickets WHERE ticket_hash = ?',
        [sha256Hex(raw)],
      )
      if (!row || row.expires_at <= clock.now()) return null
      return { orgId: row.org_id, repo: row.repo, parent: row.parent }
    },
  }
}

export type StreamTickets = ReturnType<typeof createStreamTickets>
