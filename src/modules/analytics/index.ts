import { Elysia } from 'elysia'
import { type AuthPlugin } from '../../http/auth'
import { paymentRequired } from '../../http/errors'
import { errors } from '../../http/schemas'
import type { Clock } from '../../lib/clock'
import { SECURITY } from '../../http/security'
import { PLAN_LIMITS } from '../plans'
import { AnalyticsQuery, AnalyticsReport } from './model'
import type { Analytics } from './service'

export function analyticsModule(deps: { analytics: Analytics; clock: Clock; auth: AuthPlugin }) {
  return new Elysia({ name: 'analytics' })
    .use(deps.auth)
    .get(
      '/v1/analytics',
      ({ principal, query }) => {
        if (!PLAN_LIMITS[principal.org.plan].analytics) throw paymentRequired('analytics requires the team or enterprise plan')
        return deps.analytics.report(principal.org.id, deps.clock.now(), query.days ?? 30, query.repo)
      },
      {
        auth: 'session',
        query: AnalyticsQuery,
        response: { 200: AnalyticsReport, ...errors(400, 401, 402, 403, 429) },
        detail: { tags: ['Analytics'], summary: 'Coverage analytics (team and enterprise)', security: SECURITY.session },
      },
    )
}
