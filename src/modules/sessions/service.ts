import { eq } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { sessions } from '../../db/schema'
import { isoSeconds } from '../../lib/clock'
import { sha256Hex } from '../../lib/hash'
import { randomHex, sessionId } from '../../lib/ids'
import type { Logger } from '../../lib/logger'
import { recordAudit } from '../audit/service'
import { ensureOrganisation } from '../orgs/service'

export interface SessionPrincipal {
  sessionId: string
  userId: string
  orgId: string
}

/** Creates the session (and the organisation on the free plan when the slug is new); the raw token is returned once. */
export function createSession(
  db: Db,
  logger: Logger,
  now: number,
  input: { userId: string; orgSlug: string; orgName?: string; ttlSeconds: number; remote: string },
) {
  const token = `nls_${randomHex(32)}`
  const id = sessionId(now)
  const expiresAt = now + input.ttlSeconds * 1000
  const { org, lines } = db.orm.transaction(
    (tx) => {
      const { org, created } = ensureOrganisation(tx, now, input.orgSlug, input.orgName)
      const lines: string[] = []
      if (created)
        lines.push(recordAudit(tx, now, { action: 'org.create', fields: { org_id: org.id, slug: org.slug, plan: org.plan }, orgId: org.id, actor: `user:${input.userId}`, target: org.id, remote: input.remote }))
      tx.insert(sessions).values({ id, tokenHash: sha256Hex(token), userId: input.userId, orgId: org.id, expiresAt, createdAt: now }).run()
      lines.push(recordAudit(tx, now, { action: 'session.create', fields: { user_id: input.userId, org_id: org.id, session_id: id }, orgId: org.id, actor: `user:${input.userId}`, target: id, remote: input.remote }))
      return { org, lines }
    },
    { behavior: 'immediate' },
  )
  for (const line of lines) logger.audit(line)
  return { id, token, user_id: input.userId, org_id: org.id, org_slug: org.slug, expires_at: isoSeconds(expiresAt) }
}

/** Deletes a session; deleting one that is already gone is not an error. */
export function deleteSession(db: Db, logger: Logger, now: number, id: string, remote: string): void {
  const line = db.orm.transaction((tx) => {
    const gone = tx.delete(sessions).where(eq(sessions.id, id)).returning({ orgId: sessions.orgId, userId: sessions.userId }).get()
    if (!gone) return null
    return recordAudit(tx, now, { action: 'session.delete', fields: { session_id: id }, orgId: gone.orgId, actor: `user:${gone.userId}`, target: id, remote })
  })
  if (line) logger.audit(line)
}

export interface SessionStore {
  find(raw: string): SessionPrincipal | null
  /** Whether the session with this id still exists and has not expired. */
  isValid(id: string): boolean
}

const SESSION_FORMAT = /^nls_[0-9a-f]{64}$/

/** Looks a session up by the hash of its token; an expired session is treated as absent. */
export function createSessionStore(db: Db, clock: { now(): number }): SessionStore {
  const select = db.sqlite.prepare<{ id: string; user_id: string; org_id: string; expires_at: number }, [string]>(
    'SELECT id, user_id, org_id, expires_at FROM sessions WHERE token_hash = ?',
  )
  const byId = db.sqlite.prepare<{ expires_at: number }, [string]>('SELECT expires_at FROM sessions WHERE id = ?')
  return {
    isValid(id) {
      const row = byId.get(id)
      return row !== null && row.expires_at > clock.now()
    },
    find(raw) {
      if (!SESSION_FORMAT.test(raw)) return null
      const row = select.get(sha256Hex(raw))
      if (!row || row.expires_at <= clock.now()) return null
      return { sessionId: row.id, userId: row.user_id, orgId: row.org_id }
    },
  }
}
