import { describe, expect, test } from 'bun:test'
import { makeTestApp, type TestApp } from './helpers/app'
import { createToken, signIn, submit } from './helpers/fixtures'
import { BILLING_ENV, postRazorpay, postStripe, razorpayEvent, razorpaySignature, stripeEvent } from './helpers/webhooks'

const orgState = async (t: TestApp, orgId: string) =>
  (await t.db.get<any>('SELECT plan, billing_status, stripe_customer_id, razorpay_customer_id FROM organisations WHERE id = ?', [orgId])) as any
const eventCount = async (t: TestApp) => ((await t.db.get<any>('SELECT count(*) AS n FROM webhook_events')) as any).n
const subscription = (orgId: string, status: string, price = 'price_team', extra: Record<string, unknown> = {}) => ({
  id: 'sub_1', object: 'subscription', customer: 'cus_1', status, metadata: { org_id: orgId }, items: { data: [{ price: { id: price } }] }, ...extra,
})

describe('POST /webhooks/stripe: verification', () => {
  test('a correctly signed event is recorded and answered 200 {"received":true}', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    const res = await postStripe(t, stripeEvent('customer.subscription.created', subscription(orgId, 'active')))
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ received: true })
    expect((await orgState(t, orgId)).plan).toBe('team')
  })

  test('secret unset: 500 and nothing recorded', async () => {
    const t = makeTestApp()
    const res = await postStripe(t, stripeEvent('invoice.paid', {}))
    expect(res.status).toBe(500)
    expect(res.json).toEqual({ error: 'stripe webhook secret not configured' })
    expect((await eventCount(t))).toBe(0)
  })

  test('missing header, wrong secret, tampered body, stale timestamp, garbage header: 401 and nothing recorded', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    const event = stripeEvent('customer.subscription.created', subscription(orgId, 'active'))
    const missing = await postStripe(t, event, { header: null })
    expect([missing.status, missing.json]).toEqual([401, { error: 'missing Stripe-Signature header' }])
    const cases = [
      await postStripe(t, event, { secret: 'whsec_wrong' }),
      await postStripe(t, event, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      await postStripe(t, event, { header: 't=1,v1=deadbeef' }),
      await postStripe(t, event, { header: 'garbage' }),
    ]
    const signed = await postStripe(t, event, { header: undefined, raw: JSON.stringify(event) })
    expect(signed.status).toBe(200)
    for (const res of cases) expect([res.status, res.json]).toEqual([401, { error: 'invalid signature' }])
    expect((await eventCount(t))).toBe(1)
  })

  test('a signature dated more than 300 s in the future is refused; 290 s ahead is accepted', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    const now = Math.floor(Date.now() / 1000)
    const ahead = await postStripe(t, stripeEvent('customer.subscription.created', subscription(orgId, 'active')), { timestamp: now + 400 })
    expect([ahead.status, ahead.json]).toEqual([401, { error: 'invalid signature' }])
    expect(await eventCount(t)).toBe(0)
    const near = await postStripe(t, stripeEvent('customer.subscription.created', subscription(orgId, 'active')), { timestamp: now + 290 })
    expect([near.status, near.json]).toEqual([200, { received: true }])
    expect(await eventCount(t)).toBe(1)
  })

  test('the signature covers the raw bytes: a re-formatted body is refused', async () => {
    const t = makeTestApp(BILLING_ENV)
    const event = stripeEvent('invoice.paid', {})
    const payload = JSON.stringify(event)
    const Stripe = (await import('stripe')).default
    const header = await new Stripe('sk_test').webhooks.generateTestHeaderStringAsync({ payload, secret: BILLING_ENV.STRIPE_WEBHOOK_SECRET })
    const res = await postStripe(t, event, { header, raw: JSON.stringify(event, null, 2) })
    expect(res.status).toBe(401)
    expect((await postStripe(t, event, { header, raw: payload })).status).toBe(200)
  })
})

describe('POST /webhooks/stripe: effects', () => {
  test('checkout links the customer; later subscription events find the org by customer id', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    await postStripe(t, stripeEvent('checkout.session.completed', { id: 'cs_1', client_reference_id: orgId, customer: 'cus_42' }))
    expect((await orgState(t, orgId)).stripe_customer_id).toBe('cus_42')
    await postStripe(t, stripeEvent('customer.subscription.updated', { customer: 'cus_42', status: 'active', metadata: {}, items: { data: [{ price: { id: 'price_enterprise' } }] } }))
    expect((await orgState(t, orgId)).plan).toBe('enterprise')
    await postStripe(t, stripeEvent('customer.subscription.deleted', { customer: 'cus_42', status: 'canceled', metadata: {} }))
    expect((await orgState(t, orgId)).plan).toBe('free')
  })

  test.each([
    ['active', 'price_team', 'team'],
    ['trialing', 'price_enterprise', 'enterprise'],
    ['canceled', 'price_team', 'free'],
    ['unpaid', 'price_enterprise', 'free'],
  ])('subscription status %p with price %p sets plan %p', async (status, price, plan) => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t, 'acme', { plan: 'team' })
    await postStripe(t, stripeEvent('customer.subscription.updated', subscription(orgId, status, price)))
    expect((await orgState(t, orgId)).plan).toBe(plan)
  })

  test('metadata.plan is used when the price id is not one of ours', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    await postStripe(t, stripeEvent('customer.subscription.created', subscription(orgId, 'active', 'price_other', { metadata: { org_id: orgId, plan: 'enterprise' } })))
    expect((await orgState(t, orgId)).plan).toBe('enterprise')
  })

  test('invoice.payment_failed marks the org past_due; a later active subscription clears it', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    await postStripe(t, stripeEvent('invoice.payment_failed', { customer: 'cus_1', metadata: { org_id: orgId } }, { created: 1_800_000_000 }))
    expect((await orgState(t, orgId))).toMatchObject({ plan: 'free', billing_status: 'past_due' })
    await postStripe(t, stripeEvent('customer.subscription.updated', subscription(orgId, 'active'), { created: 1_800_000_100 }))
    expect((await orgState(t, orgId))).toMatchObject({ plan: 'team', billing_status: 'active' })
  })

  test('a duplicate event answers {"received":true,"duplicate":true} and changes nothing', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    const event = stripeEvent('customer.subscription.created', subscription(orgId, 'active'))
    expect((await postStripe(t, event)).json).toEqual({ received: true })
    await t.db.run("UPDATE organisations SET plan = 'free'")
    t.app.orgChanged(orgId)
    const again = await postStripe(t, event)
    expect([again.status, again.json]).toEqual([200, { received: true, duplicate: true }])
    expect((await orgState(t, orgId)).plan).toBe('free')
    expect((await eventCount(t))).toBe(1)
  })

  test('an older subscription.updated delivered late does not roll the plan back', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    await postStripe(t, stripeEvent('customer.subscription.updated', subscription(orgId, 'active', 'price_enterprise'), { created: 1_800_000_200 }))
    const late = await postStripe(t, stripeEvent('customer.subscription.updated', subscription(orgId, 'active', 'price_team'), { created: 1_800_000_100 }))
    expect(late.json).toEqual({ received: true })
    expect((await orgState(t, orgId)).plan).toBe('enterprise')
    expect((await t.db.all<any>("SELECT result FROM webhook_events ORDER BY event_created_at"))).toEqual([{ result: 'stale' }, { result: 'applied' }])
  })

  test('an event for an unknown organisation is recorded, acknowledged and logged', async () => {
    const t = makeTestApp(BILLING_ENV)
    const res = await postStripe(t, stripeEvent('customer.subscription.created', subscription('org_nobody', 'active')))
    expect([res.status, res.json]).toEqual([200, { received: true }])
    expect((await t.db.get<any>('SELECT result, org_id FROM webhook_events'))).toEqual({ result: 'unknown_org', org_id: null })
    expect(t.logger.lines.some((l) => l.includes('billing event for an unknown organisation'))).toBe(true)
  })

  test('other event types are recorded and acknowledged', async () => {
    const t = makeTestApp(BILLING_ENV)
    const res = await postStripe(t, stripeEvent('charge.refunded', { id: 'ch_1' }))
    expect(res.json).toEqual({ received: true })
    expect((await t.db.get<any>('SELECT type, result FROM webhook_events'))).toEqual({ type: 'charge.refunded', result: 'ignored' })
  })

  test('a failure while applying answers 500, leaves nothing, and the retry applies it', async () => {
    let fail = true
    const t = makeTestApp(BILLING_ENV, {
      billingBeforeCommit: () => {
        if (fail) throw new Error('injected failure')
      },
    })
    const { orgId } = await signIn(t)
    const event = stripeEvent('customer.subscription.created', subscription(orgId, 'active', 'price_enterprise'))
    const broken = await postStripe(t, event)
    expect([broken.status, broken.json]).toEqual([500, { error: 'internal error' }])
    expect((await eventCount(t))).toBe(0)
    expect((await orgState(t, orgId)).plan).toBe('free')
    expect((await t.db.get<any>("SELECT count(*) AS n FROM audit_events WHERE action = 'billing.plan_change'"))).toEqual({ n: 0 })
    fail = false
    const retry = await postStripe(t, event)
    expect(retry.json).toEqual({ received: true })
    expect((await orgState(t, orgId)).plan).toBe('enterprise')
  })

  test('each plan change is an audit line and row', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    await postStripe(t, stripeEvent('customer.subscription.created', subscription(orgId, 'active')))
    expect(t.logger.lines).toContain(`[audit] billing.plan_change org_id=${orgId} from=free to=team provider=stripe`)
    expect((await t.db.get<any>("SELECT actor, target FROM audit_events WHERE action = 'billing.plan_change'"))).toEqual({ actor: 'stripe', target: orgId })
  })
})

describe('POST /webhooks/razorpay', () => {
  test('subscription.activated sets the plan from plan_id and links the customer', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    const res = await postRazorpay(t, razorpayEvent('subscription.activated', 'subscription', { id: 'sub_1', plan_id: 'plan_enterprise', customer_id: 'cust_9', notes: { org_id: orgId } }))
    expect([res.status, res.json]).toEqual([200, { received: true }])
    expect((await orgState(t, orgId))).toMatchObject({ plan: 'enterprise', razorpay_customer_id: 'cust_9' })
    await postRazorpay(t, razorpayEvent('subscription.halted', 'subscription', { id: 'sub_1', customer_id: 'cust_9' }))
    expect((await orgState(t, orgId)).plan).toBe('free')
  })

  test.each(['subscription.cancelled', 'subscription.completed', 'subscription.halted'])('%p moves the org to free', async (type) => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t, 'acme', { plan: 'team' })
    await postRazorpay(t, razorpayEvent(type, 'subscription', { id: 'sub_1', notes: { org_id: orgId } }))
    expect((await orgState(t, orgId)).plan).toBe('free')
  })

  test('subscription.charged with notes.plan, and payment.failed → past_due', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    await postRazorpay(t, razorpayEvent('subscription.charged', 'subscription', { id: 'sub_1', plan_id: 'plan_x', notes: { org_id: orgId, plan: 'team' } }))
    expect((await orgState(t, orgId)).plan).toBe('team')
    await postRazorpay(t, razorpayEvent('payment.failed', 'payment', { id: 'pay_1', notes: { org_id: orgId } }))
    expect((await orgState(t, orgId))).toMatchObject({ plan: 'team', billing_status: 'past_due' })
  })

  test('verification failures: 401; secret unset: 500; nothing recorded', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    const body = razorpayEvent('subscription.activated', 'subscription', { plan_id: 'plan_team', notes: { org_id: orgId } })
    const missing = await postRazorpay(t, body, { signature: null })
    expect([missing.status, missing.json]).toEqual([401, { error: 'missing X-Razorpay-Signature header' }])
    for (const signature of ['0'.repeat(64), razorpaySignature(JSON.stringify(body), 'other-secret'), 'not-hex', razorpaySignature(JSON.stringify(body)).toUpperCase()]) {
      const res = await postRazorpay(t, body, { signature })
      expect([res.status, res.json]).toEqual([401, { error: 'invalid signature' }])
    }
    const tampered = await postRazorpay(t, body, { raw: JSON.stringify(body) + ' ', signature: razorpaySignature(JSON.stringify(body)) })
    expect(tampered.status).toBe(401)
    expect((await eventCount(t))).toBe(0)
    expect((await orgState(t, orgId)).plan).toBe('free')
    const unset = makeTestApp()
    expect((await postRazorpay(unset, body)).json).toEqual({ error: 'razorpay webhook secret not configured' })
  })

  test('a duplicate event id answers duplicate and applies once', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    const body = razorpayEvent('subscription.activated', 'subscription', { plan_id: 'plan_team', notes: { org_id: orgId } })
    expect((await postRazorpay(t, body, { id: 'evt_same' })).json).toEqual({ received: true })
    expect((await postRazorpay(t, body, { id: 'evt_same' })).json).toEqual({ received: true, duplicate: true })
    expect((await eventCount(t))).toBe(1)
  })

  test('a signed body without an event id answers 400', async () => {
    const t = makeTestApp(BILLING_ENV)
    const payload = JSON.stringify(razorpayEvent('payment.failed', 'payment', {}))
    const res = await t.request('POST', '/webhooks/razorpay', { rawBody: payload, headers: { 'x-razorpay-signature': razorpaySignature(payload) } })
    expect([res.status, res.json]).toEqual([400, { error: 'missing required header: X-Razorpay-Event-Id' }])
  })
})

describe('plan changes take effect at once', () => {
  test('upgrading lifts token and repository caps; downgrading restores them', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId, session } = await signIn(t)
    const token = await createToken(t, session)
    for (let i = 0; i < 10; i++) await submit(t, token.secret, { repo: `r${i}` })
    expect((await submit(t, token.secret, { repo: 'r10' })).status).toBe(402)
    expect((await t.request('POST', '/v1/tokens', { token: session, body: { name: 'two' } })).status).toBe(402)
    expect((await t.request('GET', '/v1/usage', { token: session })).json.retention_days).toBe(30)

    await postStripe(t, stripeEvent('customer.subscription.created', subscription(orgId, 'active', 'price_team'), { created: 1_900_000_000 }))
    expect((await submit(t, token.secret, { repo: 'r10' })).status).toBe(201)
    expect((await t.request('POST', '/v1/tokens', { token: session, body: { name: 'two' } })).status).toBe(201)
    expect((await t.request('GET', '/v1/usage', { token: session })).json).toMatchObject({ plan: 'team', retention_days: 90, rate_limit_per_minute: 600 })

    await postStripe(t, stripeEvent('customer.subscription.deleted', subscription(orgId, 'canceled'), { created: 1_900_000_100 }))
    expect((await submit(t, token.secret, { repo: 'r10' })).status).toBe(402)
    expect((await t.request('POST', '/v1/tokens', { token: session, body: { name: 'three' } })).json).toEqual({
      error: 'token limit reached for your plan (2/1 tokens used). Upgrade to create more tokens.',
    })
  })
})
