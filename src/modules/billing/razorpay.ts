import type { Json } from '../../http/schemas'
import type { Config } from '../../config'
import type { Plan } from '../../db/schema'
import { isPlan } from '../plans'
import type { BillingEvent } from './service'

function planOf(config: Config['razorpay'], planId: unknown, notesPlan: unknown): Plan | undefined {
  if (typeof planId === 'string' && planId === config.planEnterprise) return 'enterprise'
  if (typeof planId === 'string' && planId === config.planTeam) return 'team'
  return isPlan(notesPlan) ? notesPlan : undefined
}

/** API.md §4 "Billing webhooks", Razorpay column. */
export function mapRazorpayEvent(body: Json, eventId: string, config: Config['razorpay']): BillingEvent {
  const type = typeof body.event === 'string' ? body.event : 'unknown'
  const createdAt = typeof body.created_at === 'number' ? body.created_at * 1000 : 0
  const base: BillingEvent = { provider: 'razorpay', eventId, type, createdAt }
  const subscription = body.payload?.subscription?.entity ?? {}
  const payment = body.payload?.payment?.entity ?? {}
  const orgOf = (entity: Json) => (typeof entity?.notes?.org_id === 'string' ? entity.notes.org_id : undefined)
  const customerOf = (entity: Json) => (typeof entity?.customer_id === 'string' ? entity.customer_id : undefined)
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
  const subscriptionId = text(subscription.id) ?? text(payment.subscription_id)
  switch (type) {
    case 'subscription.activated':
    case 'subscription.charged': {
      const plan = planOf(config, subscription.plan_id, subscription.notes?.plan)
      const common = { ...base, orgRef: orgOf(subscription), customerId: customerOf(subscription), subscriptionId, link: true }
      return plan ? { ...common, plan, billingStatus: 'active' } : common
    }
    case 'subscription.cancelled':
    case 'subscription.completed':
    case 'subscription.halted':
      return { ...base, orgRef: orgOf(subscription), customerId: customerOf(subscription), subscriptionId, plan: 'free' }
    case 'payment.failed':
      return { ...base, orgRef: orgOf(payment), customerId: customerOf(payment), subscriptionId, billingStatus: 'past_due' }
    default:
      return base
  }
}
