import type { Db } from '../../db/client'
import type { Plan } from '../../db/schema'
import type { Logger } from '../../lib/logger'
import { recordAudit } from '../audit/service'
import type { OrgDirectory } from '../orgs/directory'

export type Provider = 'stripe' | 'razorpay'

/** What one verified provider event means for us, decided by the provider's mapper (stripe.ts, razorpay.ts). */
export interface BillingEvent {
  provider: Provider
  eventId: string
  type: string
  /** The provider's own creation time (ms): later state wins, older deliveries cannot roll a plan back. */
  createdAt: number
  /** How to find the organisation: an explicit org reference, else a customer id linked earlier. */
  orgRef?: string
  customerId?: string
  /** Link `customerId` to the organisation (checkout completed, subscription activated). */
  link?: boolean
  /** New plan, if this event sets one. */
  plan?: Plan
  /** New billing status, if this event sets one. */
  billingStatus?: 'active' | 'past_due'
}

export type BillingResult = 'applied' | 'ignored' | 'stale' | 'unknown_org'

export interface BillingDeps {
  db: Db
  logger: Logger
  clock: { now(): number }
  orgs: OrgDirectory
  /** Test seam: runs inside the transaction after the event was applied, before it commits. */
  beforeCommit?: (event: BillingEvent) => void
}

interface OrgRow {
  id: string
  plan: Plan
  billing_status: 'active' | 'past_due'
  plan_event_at: number
}

/**
 * Records and applies one provider event exactly once: the event row and its effect commit together
 * (the primary key on (provider, event_id) makes a repeat a no-op); if applying fails nothing is kept,
 * so the provider's retry applies it later.
 */
export function processBillingEvent(deps: BillingDeps, event: BillingEvent): { duplicate: boolean; result?: BillingResult } {
  const q = deps.db.sqlite
  const now = deps.clock.now()
  const customerColumn = event.provider === 'stripe' ? 'stripe_customer_id' : 'razorpay_customer_id'
  const lines: string[] = []
  const run = q.transaction(() => {
    const seen = q.query('SELECT 1 FROM webhook_events WHERE provider = ? AND event_id = ?').get(event.provider, event.eventId)
    if (seen) return { duplicate: true as const }
    const select = 'SELECT id, plan, billing_status, plan_event_at FROM organisations'
    let org: OrgRow | null = null
    if (event.orgRef) org = q.query<OrgRow, [string, string]>(`${select} WHERE id = ? OR slug = ?`).get(event.orgRef, event.orgRef)
    if (!org && event.customerId) org = q.query<OrgRow, [string]>(`${select} WHERE ${customerColumn} = ?`).get(event.customerId)
    const changesState = event.plan !== undefined || event.billingStatus !== undefined
    let result: BillingResult
    if (!changesState && !event.link) result = 'ignored'
    else if (!org) result = 'unknown_org'
    else {
      if (event.link && event.customerId) q.run(`UPDATE organisations SET ${customerColumn} = ? WHERE id = ?`, [event.customerId, org.id])
      if (!changesState) result = 'applied'
      else if (event.createdAt < org.plan_event_at) result = 'stale'
      else {
        const plan = event.plan ?? org.plan
        const status = event.billingStatus ?? org.billing_status
        q.run('UPDATE organisations SET plan = ?, billing_status = ?, plan_event_at = ? WHERE id = ?', [plan, status, event.createdAt, org.id])
        const changes = [
          ['billing.plan_change', org.plan, plan],
          ['billing.status_change', org.billing_status, status],
        ] as const
        for (const [action, from, to] of changes)
          if (from !== to)
            lines.push(
              recordAudit(deps.db.orm, now, {
                action,
                fields: { org_id: org.id, from, to, provider: event.provider },
                orgId: org.id,
                actor: event.provider,
                target: org.id,
                remote: null,
              }),
            )
        result = 'applied'
      }
    }
    q.run('INSERT INTO webhook_events (provider, event_id, type, org_id, event_created_at, result, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      event.provider, event.eventId, event.type, org?.id ?? null, event.createdAt, result, now,
    ])
    deps.beforeCommit?.(event)
    return { duplicate: false as const, result, orgId: org?.id }
  })
  const outcome = run.immediate()
  if (outcome.duplicate) return { duplicate: true }
  if (outcome.orgId) deps.orgs.invalidate(outcome.orgId)
  for (const line of lines) deps.logger.audit(line)
  if (outcome.result === 'unknown_org')
    deps.logger.warn('billing event for an unknown organisation', { provider: event.provider, event_id: event.eventId, type: event.type })
  return { duplicate: false, result: outcome.result }
}
