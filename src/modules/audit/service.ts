import type { Db } from '../../db/client'
import { badRequest } from '../../http/errors'
import { isoSeconds } from '../../lib/clock'
import { decodeCursor, encodeCursor, INVALID_CURSOR } from '../../lib/cursor'
import { run, type Step } from '../../db/work'
import { auditId } from '../../lib/ids'
import { jsonString, type Logger } from '../../lib/logger'

export type AuditFields = Record<string, string | number | boolean | string[] | null | undefined>

export interface AuditEvent {
  action: string
  /** The documented fields of the `[audit]` line, in order. */
  fields: AuditFields
  orgId?: string | null
  actor: string
  target?: string | null
  remote?: string | null
}

/** Printable ASCII that cannot end a field, a list or a line: written as is; anything else is a JSON string. */
const BARE = /^[\x21-\x7e]+$/
const NEEDS_QUOTES = /["=\\,\[\]]/

function formatScalar(value: string): string {
  return BARE.test(value) && !NEEDS_QUOTES.test(value) ? value : jsonString(value)
}

/**
 * Values come from clients (repository and branch names, user ids, slugs): each is written bare only
 * when it is plain printable ASCII, else as a JSON string with every control and line-separator
 * character escaped, so one event is always one line and no value can forge another field or line.
 */
function formatValue(value: AuditFields[string]): string {
  if (Array.isArray(value)) return `[${value.map(formatScalar).join(',')}]`
  if (value === null || value === undefined) return '""'
  return formatScalar(String(value))
}

/** `token.create org_id=X token_id=Y scopes=[execute] agent_type=""` */
export function auditLine(event: Pick<AuditEvent, 'action' | 'fields'>): string {
  const parts = [event.action]
  for (const [key, value] of Object.entries(event.fields)) parts.push(`${key}=${formatValue(value)}`)
  return parts.join(' ')
}

/**
 * Writes the audit row inside the caller's transaction and returns the line to print once it commits
 * (a rolled-back change must not leave an audit line behind).
 */
export function* recordAudit(now: number, event: AuditEvent): Step<string> {
  const metadata: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(event.fields)) if (value !== undefined) metadata[key] = value
  yield* run('INSERT INTO audit_events (id, org_id, action, actor, target, metadata, remote, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
    auditId(now), event.orgId ?? null, event.action, event.actor, event.target ?? null, JSON.stringify(metadata), event.remote ?? null, now,
  ])
  return auditLine(event)
}

/**
 * For events with no surrounding change (denials): one row in its own statement, then the line. A
 * refusal must never depend on this write (a full disk would turn every 401 into a 500): when the row
 * cannot be written the line is still printed and the failure logged.
 */
export async function auditNow(db: Db, logger: Logger, now: number, event: AuditEvent): Promise<void> {
  try {
    logger.audit(await db.read(recordAudit(now, event)))
  } catch (error) {
    logger.audit(auditLine(event))
    logger.error('audit row not written', { action: event.action, error: error instanceof Error ? error.message : String(error) })
  }
}

type AuditRow = { id: string; action: string; actor: string; target: string | null; metadata: string; remote: string | null; created_at: number }
const AUDIT_PAGE = 'SELECT id, action, actor, target, metadata, remote, created_at FROM audit_events WHERE org_id = ? AND id < ? ORDER BY id DESC LIMIT ?'
const AUDIT_ID = /^aud_[0-9a-z]{26}$/

/** One organisation's audit events, newest first, `limit` at a time from `cursor` (400 for a cursor this API did not return). */
export async function auditPage(db: Db, orgId: string, limit: number, cursor?: string) {
  let before = 'aud_~'
  if (cursor !== undefined) {
    const key = decodeCursor(cursor, AUDIT_ID)
    if (key === null) throw badRequest(INVALID_CURSOR)
    before = key
  }
  const rows = await db.all<AuditRow>(AUDIT_PAGE, [orgId, before, limit + 1])
  const more = rows.length > limit
  if (more) rows.pop()
  return {
    events: rows.map((row) => ({
      id: row.id,
      action: row.action,
      actor: row.actor,
      target: row.target,
      metadata: JSON.parse(row.metadata) as Record<string, unknown>,
      remote: row.remote,
      created_at: isoSeconds(row.created_at),
    })),
    next_cursor: more ? encodeCursor(rows[rows.length - 1]!.id) : null,
  }
}
