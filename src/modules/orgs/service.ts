import type { Plan } from '../../db/schema'
import { all, get, run, type Step } from '../../db/work'
import { orgId } from '../../lib/ids'

export interface Organisation {
  id: string
  slug: string
  name: string
  plan: Plan
  billing_status: 'active' | 'past_due'
  created_at: number
}

export const SLUG_PATTERN = '^[a-z0-9][a-z0-9-]{0,38}$'

const COLUMNS = 'id, slug, name, plan, billing_status, created_at'

/** Every organisation and its plan (the retention sweep's list). */
export const allOrgPlans = () => all<{ id: string; plan: Plan }>('SELECT id, plan FROM organisations')

export function findOrgBySlug(slug: string): Step<Organisation | null> {
  return get<Organisation>(`SELECT ${COLUMNS} FROM organisations WHERE slug = ?`, [slug])
}

/**
 * Returns the organisation with this slug, creating it (on `plan`, free by default) when it is new. Two
 * requests creating the same slug at once both get the one organisation (the slug is unique).
 */
export function* ensureOrganisation(now: number, slug: string, name?: string, plan: Plan = 'free'): Step<{ org: Organisation; created: boolean }> {
  const existing = yield* findOrgBySlug(slug)
  if (existing) return { org: existing, created: false }
  const org = yield* get<Organisation>(
    `INSERT INTO organisations (id, slug, name, plan, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (slug) DO NOTHING RETURNING ${COLUMNS}`,
    [orgId(now), slug, name ?? slug, plan, now],
  )
  if (org) return { org, created: true }
  return { org: (yield* findOrgBySlug(slug))!, created: false }
}

/*
 * The billing state an organisation carries: its plan, billing status, the provider time of the event
 * that last set them, and one customer and one subscription link per provider. Billing decides; these
 * are the statements it decides with.
 */
export type BillingProvider = 'stripe' | 'razorpay'

/** An organisation as billing reads it: its plan state and one provider's links. */
export interface BillingOrg {
  id: string
  plan: Plan
  billing_status: 'active' | 'past_due'
  plan_event_at: number
  customer: string | null
  subscription: string | null
}

const LINK_COLUMNS: Record<BillingProvider, { customer: string; subscription: string }> = {
  stripe: { customer: 'stripe_customer_id', subscription: 'stripe_subscription_id' },
  razorpay: { customer: 'razorpay_customer_id', subscription: 'razorpay_subscription_id' },
}
const billingSelect = (provider: BillingProvider) =>
  `SELECT id, plan, billing_status, plan_event_at, ${LINK_COLUMNS[provider].customer} AS customer, ${LINK_COLUMNS[provider].subscription} AS subscription FROM organisations`

/** The organisation with this id or slug, as billing reads it. */
export const billingOrgByRef = (provider: BillingProvider, ref: string) => get<BillingOrg>(`${billingSelect(provider)} WHERE id = ? OR slug = ?`, [ref, ref])
/** The organisations linked to this subscription (at most two read: more than one is an anomaly). */
export const billingOrgsBySubscription = (provider: BillingProvider, subscriptionId: string) =>
  all<BillingOrg>(`${billingSelect(provider)} WHERE ${LINK_COLUMNS[provider].subscription} = ? LIMIT 2`, [subscriptionId])
/** The organisations linked to this customer (at most two read: a customer may pay for several). */
export const billingOrgsByCustomer = (provider: BillingProvider, customerId: string) =>
  all<BillingOrg>(`${billingSelect(provider)} WHERE ${LINK_COLUMNS[provider].customer} = ? LIMIT 2`, [customerId])

/** Links a provider's customer and/or subscription to the organisation. */
export function* linkBilling(provider: BillingProvider, orgId: string, links: { customerId?: string; subscriptionId?: string }): Step<void> {
  if (links.customerId) yield* run(`UPDATE organisations SET ${LINK_COLUMNS[provider].customer} = ? WHERE id = ?`, [links.customerId, orgId])
  if (links.subscriptionId) yield* run(`UPDATE organisations SET ${LINK_COLUMNS[provider].subscription} = ? WHERE id = ?`, [links.subscriptionId, orgId])
}

/** Sets the plan and billing status, recording the provider time of the event that set them. */
export const setPlanState = (orgId: string, plan: Plan, billingStatus: 'active' | 'past_due', eventAt: number) =>
  run('UPDATE organisations SET plan = ?, billing_status = ?, plan_event_at = ? WHERE id = ?', [plan, billingStatus, eventAt, orgId])
