import { Elysia } from 'elysia'
import type { AuthPlugin } from '../../http/auth'
import { errors } from '../../http/schemas'
import { SECURITY } from '../../http/security'
import { Usage } from './model'
import type { UsageService } from './service'

/** GET /v1/usage: the organisation's plan and what it uses of it. */
export function usageModule(deps: { auth: AuthPlugin; usage: UsageService }) {
  return new Elysia({ name: 'usage' })
    .use(deps.auth)
    .get('/v1/usage', ({ principal }) => deps.usage.usage(principal.org.id, principal.org.plan), {
      auth: 'session',
      response: {
        200: Usage,
        ...errors(401, 403, 429),
      },
      detail: { tags: ['Repositories'], summary: 'Plan usage', security: SECURITY.session },
    })
}
