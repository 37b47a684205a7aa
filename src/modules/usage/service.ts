import type { Config } from '../../config'
import type { Db } from '../../db/client'
import type { Plan } from '../../db/schema'
import type { Clock } from '../../lib/clock'
import { PLAN_LIMITS, ratePerMinute } from '../plans'
import { countRepos } from '../repos/service'
import { tokensInUse } from '../tokens/service'

/** What an organisation's plan allows and what it uses of it: repositories and tokens, from their owners. */
export function createUsageService(db: Db, clock: Clock, config: Config) {
  const repos = countRepos(db)
  return {
    async usage(orgId: string, plan: Plan) {
      const limits = PLAN_LIMITS[plan]
      return {
        plan,
        repos: { used: await repos(orgId), limit: limits.repos },
        tokens: { used: await db.read(tokensInUse(orgId, clock.now())), limit: limits.tokens },
        retention_days: limits.retentionDays,
        rate_limit_per_minute: ratePerMinute(plan, config),
      }
    },
  }
}

export type UsageService = ReturnType<typeof createUsageService>
