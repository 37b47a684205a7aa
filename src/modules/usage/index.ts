import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../../http/auth'
import { errors } from '../../http/schemas'
import { SECURITY } from '../../http/security'
import type { UsageService } from './service'

const Limit = t.Union([t.Integer(), t.Null()], { description: 'null = unlimited' })

/** GET /v1/usage: the organisation's plan and what it uses of it. */
export function usageModule(deps: { auth: AuthPlugin; usage: UsageService }) {
  return new Elysia({ name: 'usage' })
    .use(deps.auth)
    .get('/v1/usage', ({ principal }) => deps.usage.usage(principal.org.id, principal.org.plan), {
      auth: 'session',
      response: {
        200: t.Object({
          plan: t.String(),
          repos: t.Object({ used: t.Integer(), limit: Limit }),
          tokens: t.Object({ used: t.Integer(), limit: Limit }),
          retention_days: t.Integer(),
          rate_limit_per_minute: t.Integer(),
        }, { description: "The organisation's plan and what it uses of it" }),
        ...errors(401, 403, 429),
      },
      detail: { tags: ['Repositories'], summary: 'Plan usage', security: SECURITY.session },
    })
}
