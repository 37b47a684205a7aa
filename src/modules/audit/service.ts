import { auditEvents } from '../../db/schema'
import type { Orm } from '../../db/client'
import { auditId } from '../../lib/ids'
import type { Logger } from '../../lib/logger'

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

type Tx = Pick<Orm, 'insert'>

function formatValue(value: AuditFields[string]): string {
  if (Array.isArray(value)) return `[${value.join(',')}]`
  if (value === null || value === undefined) return '""'
  const text = String(value)
  return text === '' || /[\s"=]/.test(text) ? JSON.stringify(text) : text
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
export function recordAudit(tx: Tx, now: number, event: AuditEvent): string {
  const metadata: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(event.fields)) if (value !== undefined) metadata[key] = value
  tx.insert(auditEvents)
    .values({
      id: auditId(now),
      orgId: event.orgId ?? null,
      action: event.action,
      actor: event.actor,
      target: event.target ?? null,
      metadata,
      remote: event.remote ?? null,
      createdAt: now,
    })
    .run()
  return auditLine(event)
}

/** For events with no surrounding change (denials): one row in its own statement, then the line. */
export function auditNow(db: Orm, logger: Logger, now: number, event: AuditEvent): void {
  logger.audit(recordAudit(db, now, event))
}
