import { Elysia, t } from 'elysia'
import { type AuthPlugin } from '../../http/auth'
import { paymentRequired } from '../../http/errors'
import { errors, Timestamp } from '../../http/schemas'
import type { Clock } from '../../lib/clock'
import { SECURITY } from '../../http/security'
import { PLAN_LIMITS } from '../plans'
import type { Analytics } from './service'

const Counts = { executions: t.Integer(), pass: t.Integer(), warn: t.Integer(), fail: t.Integer() }

export const AnalyticsReport = t.Object({
  window: t.Object({ from: Timestamp, to: Timestamp, days: t.Integer() }),
  totals: t.Object({ ...Counts, repos: t.Integer() }),
  repos: t.Array(t.Object({ repo: t.String(), latest_coverage: t.Number(), coverage_change: t.Number(), executions: t.Integer(), fail_rate: t.Number() })),
  daily: t.Array(t.Object({ date: t.String({ format: 'date' }), ...Counts, avg_coverage: t.Union([t.Number(), t.Null()]) })),
  agents: t.Array(t.Object({ agent_type: t.String(), executions: t.Integer(), fail_rate: t.Number() })),
}, { description: 'Coverage analytics over the window' })

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
        query: t.Object({
          days: t.Optional(t.Integer({ minimum: 1, maximum: 365, default: 30, error: 'days must be an integer from 1 to 365' })),
          repo: t.Optional(t.String({ minLength: 1, maxLength: 100, error: 'repo must be a string of 1-100 characters' })),
        }),
        response: { 200: AnalyticsReport, ...errors(400, 401, 402, 403, 429) },
        detail: { tags: ['Analytics'], summary: 'Coverage analytics (team and enterprise)', security: SECURITY.session },
      },
    )
}
