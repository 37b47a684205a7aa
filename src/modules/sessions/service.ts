import type { Db } from '../../db/client'
import { get, run } from '../../db/work'
import { isoSeconds } from '../../lib/clock'
import { sha256Hex } from '../../lib/hash'
import { randomHex, sessionId, sessionRef } from '../../lib/ids'
import type { Logger } from '../../lib/logger'
import { recordAudit } from '../audit/service'
import { ensureOrganisation } from '../orgs/service'

export interface SessionPrincipal {
  sessionId: string
  userId: string
  orgId: string
}

/** Creates the session (and the organisation on the free plan when the slug is new); the raw token is returned once. */
async function createSession(
  db: Db,
  logger: Logger,
  now: number,
  input: { userId: string; orgSlug: string; orgName?: string; ttlSeconds: number; remote: string },
) {
  const token = `nls_${randomHex(32)}`
  const id = sessionId()
  const expiresAt = now + input.ttlSeconds * 1000
  const { org, lines } = await db.tx(
    (function* () {
      const { org, created } = yield* ensureOrganisation(now, input.orgSlug, input.orgName)
      const lines: string[] = []
      if (created)
        lines.push(yield* recordAudit(now, { action: 'org.create', fields: { org_id: org.id, slug: org.slug, plan: org.plan }, orgId: org.id, actor: `user:${input.userId}`, target: org.id, remote: input.remote }))
      yield* run('INSERT INTO sessions (id, token_hash, user_id, org_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)', [id, sha256Hex(token), input.userId, org.id, expiresAt, now])
      // The id deletes the session without a credential: the audit trail names the session by its reference only.
      const ref = sessionRef(id)
      lines.push(yield* recordAudit(now, { action: 'session.create', fields: { user_id: input.userId, org_id: org.id, session: ref }, orgId: org.id, actor: `user:${input.userId}`, target: ref, remote: input.remote }))
      return { org, lines }
    })(),
  )
  for (const line of lines) logger.audit(line)
  return { id, token, user_id: input.userId, org_id: org.id, org_slug: org.slug, expires_at: isoSeconds(expiresAt) }
}

/** Deletes a session; deleting one that is already gone is not an error. */
async function deleteSession(db: Db, logger: Logger, now: number, id: string, remote: string): Promise<void> {
  const line = await db.tx(
    (function* () {
      const gone = yield* get<{ org_id: string; user_id: string }>('DELETE FROM sessions WHERE id = ? RETURNING org_id, user_id', [id])
      if (!gone) return null
      const ref = sessionRef(id)
      return yield* recordAudit(now, { action: 'session.delete', fields: { session: ref }, orgId: gone.org_id, actor: `user:${gone.user_id}`, target: ref, remote })
    })(),
  )
  if (line) logger.audit(line)
}

export interface SessionService {
  find(raw: string): Promise<SessionPrincipal | null>
  /** Whether the session with this id still exists and has not expired. */
  isValid(id: string): Promise<boolean>
  /** Creates the session (and the organisation on the free plan when the slug is new); the raw token is returned once. */
  create(input: { userId: string; orgSlug: string; orgName?: string; ttlSeconds: number; remote: string }): ReturnType<typeof createSession>
  /** Deletes a session; deleting one that is already gone is not an error. */
  delete(id: string, remote: string): Promise<void>
}

const SESSION_FORMAT = /^nls_[0-9a-f]{64}$/

/**
 * The sessions feature's operations (`createXService(deps)`, the one service shape). A session is looked
 * up by the hash of its token; an expired session is treated as absent.
 */
export function createSessionService(db: Db, clock: { now(): number }, logger: Logger): SessionService {
  return {
    create: (input) => createSession(db, logger, clock.now(), input),
    delete: (id, remote) => deleteSession(db, logger, clock.now(), id, remote),
    async isValid(id) {
      const row = await db.get<{ expires_at: number }>('SELECT expires_at FROM sessions WHERE id = ?', [id])
      return row !== null && row.expires_at > clock.now()
    },
    async find(raw) {
      if (!SESSION_FORMAT.test(raw)) return null
      const row = await db.get<{ id: string; user_id: string; org_id: string; expires_at: number }>(
        'SELECT id, user_id, org_id, expires_at FROM sessions WHERE token_hash = ?',
        [sha256Hex(raw)],
      )
      if (!row || row.expires_at <= clock.now()) return null
      return { sessionId: row.id, userId: row.user_id, orgId: row.org_id }
    },
  }
}
