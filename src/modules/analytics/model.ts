import { t } from 'elysia'
import { Timestamp } from '../../http/schemas'

const Counts = { executions: t.Integer(), pass: t.Integer(), warn: t.Integer(), fail: t.Integer() }

export const AnalyticsReport = t.Object({
  window: t.Object({ from: Timestamp, to: Timestamp, days: t.Integer() }),
  totals: t.Object({ ...Counts, repos: t.Integer() }),
  repos: t.Array(t.Object({ repo: t.String(), latest_coverage: t.Number(), coverage_change: t.Number(), executions: t.Integer(), fail_rate: t.Number() })),
  daily: t.Array(t.Object({ date: t.String({ format: 'date' }), ...Counts, avg_coverage: t.Union([t.Number(), t.Null()]) })),
  agents: t.Array(t.Object({ agent_type: t.String(), executions: t.Integer(), fail_rate: t.Number() })),
}, { description: 'Coverage analytics over the window' })

export const AnalyticsQuery = t.Object({
  days: t.Optional(t.Integer({ minimum: 1, maximum: 365, default: 30, error: 'days must be an integer from 1 to 365' })),
  repo: t.Optional(t.String({ minLength: 1, maxLength: 100, error: 'repo must be a string of 1-100 characters' })),
})
