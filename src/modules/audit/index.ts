import { Elysia } from 'elysia'
import { type AuthPlugin } from '../../http/auth'
import { paymentRequired } from '../../http/errors'
import { AuditPage, AuditQuery } from './model'
import { auditPage } from './service'
import { errors } from '../../http/schemas'
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
        query: AuditQuery,
        response: {
          200: AuditPage,
          ...errors(400, 401, 402, 403, 429),
        },
        detail: { tags: ['Audit'], summary: 'Audit log (enterprise)', security: SECURITY.session },
      },
    )
}
