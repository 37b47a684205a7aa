import type { Db } from '../../db/client'
import { get, lock, run, type Step } from '../../db/work'
import type { Plan } from '../../db/schema'
import type { Logger } from '../../lib/logger'
import { recordAudit } from '../audit/service'
import { billingOrgByRef, billingOrgsByCustomer, billingOrgsBySubscription, linkBilling, setPlanState, type BillingOrg } from '../orgs/service'
import type { OrgDirectory } from '../orgs/directory'

export type Provider = 'stripe' | 'razorpay'

/** What one verified provider event means for us, decided by the provider's mapper (stripe.ts, razorpay.ts). */
export interface BillingEvent {
  provider: Provider
  eventId: string
  type: string
  /** The provider's own creation time (ms): later state wins, older deliveries cannot roll a plan back. */
  createdAt: number
  /** The organisation the event's metadata names (`client_reference_id`, `metadata.org_id`, `notes.org_id`). */
  orgRef?: string
  customerId?: string
  subscriptionId?: string
  /** Link `customerId` and `subscriptionId` to the organisation (checkout completed, subscription activated). */
  link?: boolean
  /** New plan, if this event sets one. */
  plan?: Plan
  /** New billing status, if this event sets one. */
  billingStatus?: 'active' | 'past_due'
}

/**
 * `conflict`: the event's metadata names another organisation than the one its subscription or customer
 * is linked to; `ambiguous`: its customer is linked to several organisations and no subscription decides.
 * `superseded`: it ends or fails a subscription its organisation has replaced with another. All three are
 * recorded and change nothing.
 */
export type BillingResult = 'applied' | 'ignored' | 'stale' | 'unknown_org' | 'conflict' | 'ambiguous' | 'superseded'

export interface BillingDeps {
  db: Db
  logger: Logger
  clock: { now(): number }
  orgs: OrgDirectory
  /** Test seam: runs inside the transaction after the event was applied, before it commits. */
  beforeCommit?: (event: BillingEvent) => void
}

type OrgRow = BillingOrg

/** `adopt`: the event's subscription (and customer) become the organisation's links. */
type Resolution = { org: OrgRow | null; problem?: 'conflict' | 'ambiguous' | 'superseded'; linked?: OrgRow; named?: OrgRow; adopt?: boolean }

/** What a step decided, and the audit lines it wrote (printed once the transaction commits). */
interface Applied {
  result: BillingResult
  org: OrgRow | null
  lines: string[]
}

/*
 * An event naming a subscription belongs to the organisation that subscription is linked to (at checkout,
 * or by an earlier event's metadata) and to no other: a customer who pays for several organisations has
 * one subscription per organisation, and one subscription's failure or end must not move another's plan.
 * Unlinked, its metadata names the organisation and links it there; with neither it belongs to nobody.
 * The customer link decides only events that name no subscription.
 */
function* resolveOrg(event: BillingEvent): Step<Resolution> {
  const named = event.orgRef ? ((yield* billingOrgByRef(event.provider, event.orgRef)) ?? undefined) : undefined
  if (event.subscriptionId) {
    const linked = (yield* billingOrgsBySubscription(event.provider, event.subscriptionId))[0]
    if (linked) return event.orgRef && named?.id !== linked.id ? { org: null, problem: 'conflict', linked, named } : { org: linked }
    if (event.orgRef) {
      // A subscription turning active becomes its organisation's current one; the end or failure of one the
      // organisation has replaced is not its state any more.
      const activates = event.billingStatus === 'active' && event.plan !== undefined && event.plan !== 'free'
      if (named && named.subscription !== null && !event.link && !activates) return { org: null, problem: 'superseded', linked: named }
      return { org: named ?? null, adopt: true }
    }
    return { org: null }
  }
  let linked: OrgRow | undefined
  if (event.customerId) {
    const byCustomer = yield* billingOrgsByCustomer(event.provider, event.customerId)
    if (byCustomer.length > 1) return { org: null, problem: 'ambiguous' }
    linked = byCustomer[0]
  }
  if (linked && event.orgRef && named?.id !== linked.id) return { org: null, problem: 'conflict', linked, named }
  return { org: linked ?? named ?? null }
}

/** Metadata naming another organisation than the link: recorded and audited against the linked one, applied to nobody. */
function* recordConflict(event: BillingEvent, linked: OrgRow, now: number): Step<Applied> {
  const line = yield* recordAudit(now, {
    action: 'billing.conflict',
    fields: { provider: event.provider, event_id: event.eventId, linked_org_id: linked.id, named_org: event.orgRef },
    orgId: linked.id,
    actor: event.provider,
    target: linked.id,
    remote: null,
  })
  return { result: 'conflict', org: null, lines: [line] }
}

/** Links the event's customer and subscription to the organisation (those it does not have yet). */
function linkOrg(event: BillingEvent, org: OrgRow): Step<void> {
  return linkBilling(event.provider, org.id, {
    customerId: event.customerId !== org.customer ? event.customerId : undefined,
    subscriptionId: event.subscriptionId !== org.subscription ? event.subscriptionId : undefined,
  })
}

/** Sets the plan and billing status the event carries, unless a later event already did; one audit line per change. */
function* changePlan(event: BillingEvent, org: OrgRow, now: number): Step<Applied> {
  if (event.createdAt < org.plan_event_at) return { result: 'stale', org, lines: [] }
  const plan = event.plan ?? org.plan
  const status = event.billingStatus ?? org.billing_status
  yield* setPlanState(org.id, plan, status, event.createdAt)
  const lines: string[] = []
  const changes = [
    ['billing.plan_change', org.plan, plan],
    ['billing.status_change', org.billing_status, status],
  ] as const
  for (const [action, from, to] of changes)
    if (from !== to)
      lines.push(yield* recordAudit(now, { action, fields: { org_id: org.id, from, to, provider: event.provider }, orgId: org.id, actor: event.provider, target: org.id, remote: null }))
  return { result: 'applied', org, lines }
}

/** What the event means for our organisations: each outcome one step. */
function* applyEvent(event: BillingEvent, now: number): Step<Applied> {
  const changesState = event.plan !== undefined || event.billingStatus !== undefined
  if (!changesState && !event.link) return { result: 'ignored', org: null, lines: [] }
  const resolution = yield* resolveOrg(event)
  if (resolution.problem === 'conflict') return yield* recordConflict(event, resolution.linked!, now)
  if (resolution.problem) return { result: resolution.problem, org: null, lines: [] }
  const org = resolution.org
  if (!org) return { result: 'unknown_org', org: null, lines: [] }
  if (event.link || resolution.adopt) yield* linkOrg(event, org)
  return changesState ? yield* changePlan(event, org, now) : { result: 'applied', org, lines: [] }
}

/**
 * Records and applies one provider event exactly once: the event row and its effect commit together
 * (the primary key on (provider, event_id) and the unique payload hash make a repeat or a replay a
 * no-op); if applying fails nothing is kept, so the provider's retry applies it later. Which
 * organisation an event moves is `resolveOrg`'s rule.
 */
export async function processBillingEvent(deps: BillingDeps, event: BillingEvent, payloadHash: string): Promise<{ duplicate: boolean; result?: BillingResult }> {
  const now = deps.clock.now()
  // One provider's events apply one at a time (the lock): two deliveries of one event racing on
  // PostgreSQL cannot both pass the duplicate check.
  function* apply() {
    yield* lock(`billing:${event.provider}`)
    const seen = yield* get('SELECT 1 AS seen FROM webhook_events WHERE provider = ? AND (event_id = ? OR payload_hash = ?)', [event.provider, event.eventId, payloadHash])
    if (seen) return { duplicate: true as const }
    const applied = yield* applyEvent(event, now)
    yield* run(
      'INSERT INTO webhook_events (provider, event_id, type, org_id, event_created_at, result, received_at, payload_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [event.provider, event.eventId, event.type, applied.org?.id ?? null, event.createdAt, applied.result, now, payloadHash],
    )
    deps.beforeCommit?.(event)
    return { duplicate: false as const, result: applied.result, orgId: applied.org?.id, lines: applied.lines }
  }
  const outcome = await deps.db.tx(apply())
  if (outcome.duplicate) return { duplicate: true }
  if (outcome.orgId) deps.orgs.invalidate(outcome.orgId)
  for (const line of outcome.lines) deps.logger.audit(line)
  const where = { provider: event.provider, event_id: event.eventId, type: event.type }
  if (outcome.result === 'unknown_org') deps.logger.warn('billing event for an unknown organisation', where)
  else if (outcome.result === 'conflict')
    deps.logger.warn('billing event names another organisation than its linked subscription or customer; applied to nobody', where)
  else if (outcome.result === 'ambiguous')
    deps.logger.warn('billing event customer is linked to several organisations and no subscription decides; changed nothing', where)
  else if (outcome.result === 'superseded') deps.logger.warn('billing event is about a subscription its organisation has replaced; changed nothing', where)
  return { duplicate: false, result: outcome.result }
}
