import { t } from 'elysia'

const Limit = t.Union([t.Integer(), t.Null()], { description: 'null = unlimited' })

export const Usage = t.Object({
  plan: t.String(),
  repos: t.Object({ used: t.Integer(), limit: Limit }),
  tokens: t.Object({ used: t.Integer(), limit: Limit }),
  retention_days: t.Integer(),
  rate_limit_per_minute: t.Integer(),
}, { description: "The organisation's plan and what it uses of it" })
