import type { Config } from '../config'
import type { Plan } from '../db/schema'

export interface PlanLimits {
  /** null = unlimited */
  repos: number | null
  tokens: number | null
  retentionDays: number
  analytics: boolean
  auditLog: boolean
}

/** API.md §5. */
export const PLAN_LIMITS: Record<Plan, PlanLimits> = {
  free: { repos: 10, tokens: 1, retentionDays: 30, analytics: false, auditLog: false },
  team: { repos: 100, tokens: 10, retentionDays: 90, analytics: true, auditLog: false },
  enterprise: { repos: null, tokens: null, retentionDays: 365, analytics: true, auditLog: true },
}

export function ratePerMinute(plan: Plan, config: Pick<Config, 'rateLimitEnterprisePerMinute'>): number {
  if (plan === 'enterprise') return config.rateLimitEnterprisePerMinute
  return plan === 'team' ? 600 : 60
}

export function isPlan(value: unknown): value is Plan {
  return value === 'free' || value === 'team' || value === 'enterprise'
}

/** Open event streams by plan (API.md beyond the seed): per credential as configured, per organisation 4 × that. */
export function streamCaps(plan: Plan, config: Pick<Config, 'streamsPerCredential' | 'streamsMax' | 'streamsPerAddress'>) {
  const perCredential = config.streamsPerCredential[plan]
  return { perCredential, perOrg: perCredential * 4, perAddress: config.streamsPerAddress, total: config.streamsMax }
}
