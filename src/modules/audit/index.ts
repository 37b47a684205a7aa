import { Elysia, t } from 'elysia'
import type { BodyReader } from '../../http/body'
import { authPlugin, type Authenticate, type CredentialLimiter } from '../../http/auth'
import { badRequest, paymentRequired } from '../../http/errors'
import { errors, Timestamp } from '../../http/schemas'
import type { Db } from '../../db/client'
import { isoSeconds } from '../../lib/clock'
import { SECURITY } from '../../http/security'
import { PLAN_LIMITS } from '../plans'

export function auditModule(deps: { db: Db; authenticate: Authenticate; limiter?: CredentialLimiter; body: BodyReader }) {
  type Row = { id: string; action: string; actor: string; target: string | null; metadata: string; remote: string | null; created_at: number }
  const PAGE = 'SELECT id, action, actor, target, metadata, remote, created_at FROM audit_events WHERE org_id = ? AND id < ? ORDER BY id DESC LIMIT ?'
  return new Elysia({ name: 'audit-log' })
    .use(authPlugin(deps.authenticate, deps.limiter, deps.body))
    .get(
      '/v1/audit-log',
      async ({ principal, query }) => {
        if (!PLAN_LIMITS[principal.org.plan].auditLog) throw paymentRequired('the audit log requires the enterprise plan')
        const limit = query.limit ?? 50
        let before = 'aud_~'
        if (query.cursor !== undefined) {
          before = Buffer.from(query.cursor, 'base64url').toString()
          if (!/^aud_[0-9a-z]{26}$/.test(before)) throw badRequest('invalid query: cursor is not a cursor this API returned')
        }
        const rows = await deps.db.all<Row>(PAGE, [principal.org.id, before, limit + 1])
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
          next_cursor: more ? Buffer.from(rows[rows.length - 1]!.id).toString('base64url') : null,
        }
      },
      {
        auth: 'session',
        query: t.Object({
          limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 50, error: 'limit must be an integer from 1 to 100' })),
          cursor: t.Optional(t.String({ maxLength: 200 })),
        }),
        response: {
          200: t.Object({
            events: t.Array(t.Object({
              id: t.String(), action: t.String(), actor: t.String(), target: t.Union([t.String(), t.Null()]),
              metadata: t.Record(t.String(), t.Unknown()), remote: t.Union([t.String(), t.Null()]), created_at: Timestamp,
            })),
            next_cursor: t.Union([t.String(), t.Null()]),
          }, { description: 'Audit events, newest first' }),
          ...errors(400, 401, 402, 403, 429),
        },
        detail: { tags: ['Audit'], summary: 'Audit log (enterprise)', security: SECURITY.session },
      },
    )
}
