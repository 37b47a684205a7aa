import { t } from 'elysia'
import { Timestamp } from '../../http/schemas'

export const AuditQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 50, error: 'limit must be an integer from 1 to 100' })),
  cursor: t.Optional(t.String({ maxLength: 200 })),
})

export const AuditPage = t.Object({
  events: t.Array(t.Object({
    id: t.String(), action: t.String(), actor: t.String(), target: t.Union([t.String(), t.Null()]),
    metadata: t.Record(t.String(), t.Unknown()), remote: t.Union([t.String(), t.Null()]), created_at: Timestamp,
  })),
  next_cursor: t.Union([t.String(), t.Null()]),
}, { description: 'Audit events, newest first' })
