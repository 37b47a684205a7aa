import { describe, expect, test } from 'bun:test'
import { makeTestApp } from './helpers/app'
import { createToken, setPlan, signIn } from './helpers/fixtures'
import { BILLING_ENV, postStripe, stripeEvent } from './helpers/webhooks'

const DAY = 86_400_000

describe('GET /v1/audit-log', () => {
  test('free and team plans: 402 naming enterprise', async () => {
    const t = makeTestApp()
    const { session, orgId } = await signIn(t)
    expect((await t.request('GET', '/v1/audit-log', { token: session })).json).toEqual({ error: 'the audit log requires the enterprise plan' })
    await setPlan(t, orgId, 'team')
    expect((await t.request('GET', '/v1/audit-log', { token: session })).status).toBe(402)
  })

  test('lists the identity and billing events newest first with cursor pagination, only for the own org', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { session, orgId } = await signIn(t, 'acme', { plan: 'enterprise' })
    await signIn(t, 'other')
    const token = await createToken(t, session)
    await t.request('POST', `/v1/tokens/${token.id}/rotate`, { token: session })
    await t.request('DELETE', `/v1/tokens/${token.id}`, { token: session })
    await postStripe(t, stripeEvent('customer.subscription.updated', { customer: 'c', status: 'active', metadata: { org_id: orgId }, items: { data: [{ price: { id: 'price_team' } }] } }))
    await setPlan(t, orgId, 'enterprise')
    const seen: any[] = []
    let cursor: string | null = null
    do {
      const query: string = cursor ? `&cursor=${cursor}` : ''
      const res = await t.request('GET', `/v1/audit-log?limit=2${query}`, { token: session })
      expect(res.status).toBe(200)
      seen.push(...res.json.events)
      cursor = res.json.next_cursor
    } while (cursor)
    expect(seen.map((e) => e.action)).toEqual(['billing.plan_change', 'token.revoke', 'token.rotate', 'token.create', 'session.create', 'org.create'])
    expect(seen[1]).toMatchObject({ actor: 'user:user-1', target: token.id, metadata: { token_id: token.id }, remote: 'unknown', created_at: '2026-03-18T09:00:00Z' })
    expect(seen[0].metadata).toEqual({ org_id: orgId, from: 'enterprise', to: 'team', provider: 'stripe' })
    expect(JSON.stringify(seen)).not.toContain(token.secret)
  })
})
