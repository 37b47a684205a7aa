import { Elysia, t } from 'elysia'
import { type AuthPlugin } from '../../http/auth'
import { paymentRequired } from '../../http/errors'
import { auditPage } from './service'
import { errors, Timestamp } from '../../http/schemas'
import type { Db } from '../../db/client'
import { SECURITY } from '../../http/security'
import { PLAN_LIMITS } from '../plans'

export function auditModule(deps: { db: Db; auth: AuthPlugin }) {
  return new Elysia({ name: 'audit-log' })
    .use(deps.auth)
    .get(
      '/v1/audit-log',
      async ({ principal, query }) => {
        if (!PLAN_LIMITS[principal.org.plan].auditLog) throw paymentRequired('the audit log requires the enterprise plan')
        return auditPage(deps.db, principal.org.id, query.limit ?? 50, query.cursor)
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
