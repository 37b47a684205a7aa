import type { Json } from '../../http/schemas'
import type Stripe from 'stripe'
import type { Config } from '../../config'
import type { Plan } from '../../db/schema'
import { isPlan } from '../plans'
import type { BillingEvent } from './service'

export const STRIPE_TOLERANCE_SECONDS = 300

function planOf(config: Config['stripe'], priceId: string | undefined, metadataPlan: unknown): Plan | undefined {
  if (priceId && priceId === config.priceEnterprise) return 'enterprise'
  if (priceId && priceId === config.priceTeam) return 'team'
  return isPlan(metadataPlan) ? metadataPlan : undefined
}

/** A Stripe reference: an id string, or an expanded object with an `id`. */
const idOf = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : value && typeof value === 'object' && 'id' in value ? String((value as { id: unknown }).id) : undefined
const customerOf = idOf

/** API.md §4 "Billing webhooks", Stripe column. */
export function mapStripeEvent(event: Stripe.Event, config: Config['stripe']): BillingEvent {
  const base: BillingEvent = { provider: 'stripe', eventId: event.id, type: event.type, createdAt: event.created * 1000 }
  const object = event.data.object as unknown as Json
  const metadataOrg = typeof object?.metadata?.org_id === 'string' ? object.metadata.org_id : undefined
  switch (event.type) {
    case 'checkout.session.completed':
      return { ...base, orgRef: object.client_reference_id ?? metadataOrg, customerId: customerOf(object.customer), subscriptionId: idOf(object.subscription), link: true }
    case 'customer.subscription.created':
    case 'customer.subscription.updated': {
      const status = object.status as string
      const common = { ...base, orgRef: metadataOrg, customerId: customerOf(object.customer), subscriptionId: idOf(object.id) }
      if (status === 'active' || status === 'trialing') {
        const plan = planOf(config, object.items?.data?.[0]?.price?.id, object.metadata?.plan)
        return plan ? { ...common, plan, billingStatus: 'active' } : common
      }
      if (status === 'canceled' || status === 'unpaid') return { ...common, plan: 'free' }
      if (status === 'past_due') return { ...common, billingStatus: 'past_due' }
      return common
    }
    case 'customer.subscription.deleted':
      return { ...base, orgRef: metadataOrg, customerId: customerOf(object.customer), subscriptionId: idOf(object.id), plan: 'free' }
    case 'invoice.payment_failed':
      return {
        ...base,
        orgRef: metadataOrg ?? object.subscription_details?.metadata?.org_id,
        customerId: customerOf(object.customer),
        // Older API versions put the subscription on the invoice, newer ones under parent.subscription_details.
        subscriptionId: idOf(object.subscription) ?? idOf(object.parent?.subscription_details?.subscription),
        billingStatus: 'past_due',
      }
    default:
      return base
  }
}
