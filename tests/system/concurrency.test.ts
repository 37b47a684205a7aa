import { describe, expect, test } from 'bun:test'
import { createBatchedWriter, type Batch } from '../../src/db/batched-writer'
import type { Step } from '../../src/db/work'
import type { Db } from '../../src/db/client'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { memoryLogger } from '../../src/lib/logger'
import { makeTestApp, SERVICE_TOKEN, type TestApp } from '../helpers/app'
import { backend, sharedDatabases, testDatabase } from '../helpers/db'
import { orgWithToken, signIn, submit } from '../helpers/fixtures'
import { BILLING_ENV, postRazorpay, postStripe, razorpayEvent, stripeEvent, webhookTarget } from '../helpers/webhooks'

const rows = async (t: { db: Db }, sql: string) => ((await t.db.get<any>(sql)) as any).n as number
const counterExact = async (t: { db: Db }) =>
  ((await t.db.get<any>('SELECT count(*) AS n FROM repositories r WHERE r.execution_count != (SELECT count(*) FROM executions e WHERE e.repo_id = r.id)')) as any).n === 0

describe('concurrency', () => {
  test('200 parallel ingestions into one repository leave exactly 200 rows and an exact counter', async () => {
    const t = makeTestApp({ RATE_LIMIT_ENTERPRISE_PER_MINUTE: '100000' })
    const { token } = await orgWithToken(t, 'acme', { plan: 'enterprise' })
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => submit(t, token, { coverage: i % 100 })))
    expect(results.every((r) => r.status === 201)).toBe(true)
    expect(new Set(results.map((r) => r.json.id)).size).toBe(200)
    expect((await rows(t, 'SELECT count(*) AS n FROM executions'))).toBe(200)
    expect((await counterExact(t))).toBe(true)
    expect((await t.request('GET', '/v1/executions?org=acme&repo=api-service', { token })).json.total).toBe(200)
  })

  test('idempotent retries racing each other record once and all answer the same execution', async () => {
    const t = makeTestApp({ RATE_LIMIT_ENTERPRISE_PER_MINUTE: '100000' })
    const { token } = await orgWithToken(t, 'acme', { plan: 'enterprise' })
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => submit(t, token, { coverage: 70 + (i % 3) }, { 'idempotency-key': `key-${i % 3}` })),
    )
    expect(results.every((r) => r.status === 201)).toBe(true)
    for (let k = 0; k < 3; k++) expect(new Set(results.filter((_, i) => i % 3 === k).map((r) => r.json.id)).size).toBe(1)
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(57)
    expect((await rows(t, 'SELECT count(*) AS n FROM executions'))).toBe(3)
    expect((await counterExact(t))).toBe(true)
  })

  test('a refused run in a shared commit rolls back alone', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t, 'acme', { plan: 'free' })
    for (let i = 0; i < 9; i++) await submit(t, token, { repo: `r${i}` })
    const results = await Promise.all([submit(t, token, { repo: 'new-a' }), submit(t, token, { repo: 'r1' }), submit(t, token, { repo: 'new-b' })])
    // One new repository fits (which one depends on which commit takes it first); the existing one always does.
    expect(results[1]!.status).toBe(201)
    expect([results[0]!.status, results[2]!.status].sort()).toEqual([201, 402])
    expect((await rows(t, 'SELECT count(*) AS n FROM repositories'))).toBe(10)
    expect((await counterExact(t))).toBe(true)
    expect(await rows(t, 'SELECT sum(executions) AS n FROM daily_rollups')).toBe(await rows(t, 'SELECT count(*) AS n FROM executions'))
  })

  /** Items 1, 2 and 3 in one batch through a writer made of `apply` and `settle`: each answer, and what was settled. */
  async function batchOfThree(apply: (n: number, batch: Batch<number>) => Step<number>, settle: (effects: number[]) => void) {
    const db = testDatabase()
    const settled: number[][] = []
    const writer = createBatchedWriter<number, number, number>(db, apply, String, function* (effects) {
      settle(effects)
      settled.push([...effects].sort())
    })
    const results = await Promise.allSettled([1, 2, 3].map((n) => writer.submit(n)))
    await db.close()
    return { answers: results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), settled }
  }

  test('a batch item that throws after pushing its effects contributes none; the others settle once, in one transaction', async () => {
    const { answers, settled } = await batchOfThree(
      function* (n, batch) {
        batch.effects.push(n)
        if (n === 2) throw new Error('refused')
        return n * 10
      },
      () => {},
    )
    expect(answers).toEqual([10, 'refused', 30])
    expect(settled).toEqual([[1, 3]])
  })

  test("a write left to the end of the batch that fails is retried item by item, where it fails for its own item alone", async () => {
    const { answers, settled } = await batchOfThree(
      function* (n, batch) {
        // On the item-by-item pass each item writes its own rows, and item 2's write is the one that fails.
        if (!batch.deferring && n === 2) throw new Error('bad row')
        batch.effects.push(n)
        return n * 10
      },
      (effects) => {
        // The multi-row write of the straight pass fails for everyone when item 2 is in it.
        if (effects.includes(2)) throw new Error('bad row somewhere in the batch')
      },
    )
    expect(answers).toEqual([10, 'bad row', 30])
    expect(settled).toEqual([[1, 3]])
  })

  test('parallel token creation cannot exceed the plan cap', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t, 'acme', { plan: 'team' })
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => t.request('POST', '/v1/tokens', { token: session, body: { name: `t${i}` } })))
    expect(results.filter((r) => r.status === 201)).toHaveLength(10)
    expect(results.filter((r) => r.status === 402)).toHaveLength(20)
    expect((await rows(t, 'SELECT count(*) AS n FROM api_tokens'))).toBe(10)
  })

  test('parallel duplicate webhooks apply once', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    const event = stripeEvent('customer.subscription.created', { customer: 'c', status: 'active', metadata: { org_id: orgId }, items: { data: [{ price: { id: 'price_team' } }] } })
    const stripe = await Promise.all(Array.from({ length: 20 }, () => postStripe(t, event)))
    expect(stripe.every((r) => r.status === 200)).toBe(true)
    expect(stripe.filter((r) => r.json.duplicate === true)).toHaveLength(19)
    const body = razorpayEvent('payment.failed', 'payment', { notes: { org_id: orgId } })
    const razorpay = await Promise.all(Array.from({ length: 20 }, () => postRazorpay(t, body, { id: 'evt_parallel' })))
    expect(razorpay.filter((r) => r.json.duplicate === true)).toHaveLength(19)
    expect((await rows(t, 'SELECT count(*) AS n FROM webhook_events'))).toBe(2)
    expect((await rows(t, "SELECT count(*) AS n FROM audit_events WHERE action = 'billing.plan_change'"))).toBe(1)
  })

  /** Two server instances on one database (one file, or one PostgreSQL database with a pool each). */
  async function twoInstances(env: Record<string, string> = {}) {
    const config = loadConfig({ DATABASE_URL: ':memory:', SERVICE_TOKEN, RATE_LIMIT_ENTERPRISE_PER_MINUTE: '100000', ...BILLING_ENV, ...env })
    const instances = (await sharedDatabases(2)).map((db) => ({ db, app: createApp({ config, db, logger: memoryLogger() }) }))
    const call = (i: number, method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) =>
      instances[i]!.app.handle(new Request(`http://localhost${path}`, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) }))
    const signIn = async (slug: string, plan: string) => {
      const session = await (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: slug })).json()
      await instances[0]!.db.run('UPDATE organisations SET plan = ? WHERE slug = ?', [plan, slug])
      return session as { token: string; org_id: string }
    }
    const close = async () => {
      for (const instance of instances) await instance.db.close()
    }
    const asTestApp = (i: number) => webhookTarget((request) => instances[i]!.app.handle(request))
    return { instances, call, signIn, close, asTestApp }
  }

  test(`two instances sharing one database (${backend}) keep counters exact and see each other's runs`, async () => {
    const { instances, call, signIn, close } = await twoInstances()
    const session = await signIn('shared', 'enterprise')
    const token = await (await call(0, 'POST', '/v1/tokens', session.token, { name: 'ci' })).json()
    // the second instance caches the list, then the first writes: the version column keeps the cache honest
    expect((await (await call(1, 'GET', '/v1/executions?org=shared&repo=svc', token.secret)).json()).total).toBe(0)
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => call(i % 2, 'POST', '/v1/executions', token.secret, { repo: 'svc', branch: 'main', coverage: i % 100 })))
    expect(results.every((r) => r.status === 201)).toBe(true)
    expect((await (await call(1, 'GET', '/v1/executions?org=shared&repo=svc', token.secret)).json()).total).toBe(100)
    expect((await (await call(0, 'GET', '/v1/executions?org=shared&repo=svc', token.secret)).json()).total).toBe(100)
    expect(await counterExact(instances[0]!)).toBe(true)
    await close()
  }, 30_000)

  test(`caps, idempotency keys and webhook deliveries racing across two instances (${backend}) pass exactly once`, async () => {
    const { instances, call, signIn, close, asTestApp } = await twoInstances()
    // Token cap (team: 10): 30 creations spread over both instances at once.
    const team = await signIn('team-org', 'team')
    const created = await Promise.all(Array.from({ length: 30 }, (_, i) => call(i % 2, 'POST', '/v1/tokens', team.token, { name: `t${i}` })))
    expect(created.filter((r) => r.status === 201)).toHaveLength(10)
    expect(created.filter((r) => r.status === 402)).toHaveLength(20)
    expect(await rows(instances[1]!, "SELECT count(*) AS n FROM api_tokens WHERE status = 'active'")).toBe(10)
    // Repository cap (free: 10): 9 used, then 6 new repositories at once from both instances: exactly one fits.
    const free = await signIn('free-org', 'free')
    const ci = await (await call(0, 'POST', '/v1/tokens', free.token, { name: 'ci' })).json()
    for (let i = 0; i < 9; i++) expect((await call(0, 'POST', '/v1/executions', ci.secret, { repo: `r${i}`, branch: 'main', coverage: 50 })).status).toBe(201)
    const racing = await Promise.all(Array.from({ length: 6 }, (_, i) => call(i % 2, 'POST', '/v1/executions', ci.secret, { repo: `new-${i}`, branch: 'main', coverage: 50 })))
    expect(racing.filter((r) => r.status === 201)).toHaveLength(1)
    expect(racing.filter((r) => r.status === 402)).toHaveLength(5)
    expect(await rows(instances[0]!, `SELECT count(*) AS n FROM repositories WHERE org_id = '${free.org_id}'`)).toBe(10)
    // One Idempotency-Key sent 20 times through both instances: one run, every answer the same execution.
    const retried = await Promise.all(
      Array.from({ length: 20 }, (_, i) => call(i % 2, 'POST', '/v1/executions', ci.secret, { repo: 'r0', branch: 'main', coverage: 61 }, { 'idempotency-key': 'retry-1' })),
    )
    expect(retried.every((r) => r.status === 201)).toBe(true)
    expect(new Set(await Promise.all(retried.map(async (r) => (await r.json()).id))).size).toBe(1)
    expect(await rows(instances[0]!, "SELECT count(*) AS n FROM executions WHERE coverage = 61")).toBe(1)
    expect(await counterExact(instances[1]!)).toBe(true)
    // One Stripe event delivered 10 times to each instance: applied once.
    const event = stripeEvent('customer.subscription.created', { customer: 'c', status: 'active', metadata: { org_id: free.org_id }, items: { data: [{ price: { id: 'price_team' } }] } })
    const deliveries = await Promise.all(Array.from({ length: 20 }, (_, i) => postStripe(asTestApp(i % 2), event)))
    expect(deliveries.every((r) => r.status === 200)).toBe(true)
    expect(deliveries.filter((r) => r.json.duplicate === true)).toHaveLength(19)
    expect(await rows(instances[0]!, "SELECT count(*) AS n FROM audit_events WHERE action = 'billing.plan_change'")).toBe(1)
    await close()
  }, 30_000)
})

describe('security: cross-organisation access on every org-scoped route', () => {
  async function twoOrgs(): Promise<{ t: TestApp; a: Awaited<ReturnType<typeof orgWithToken>>; b: Awaited<ReturnType<typeof orgWithToken>> }> {
    const t = makeTestApp()
    const a = await orgWithToken(t, 'org-a', { plan: 'enterprise', scopes: ['execute', 'read'] })
    const b = await orgWithToken(t, 'org-b', { plan: 'enterprise', scopes: ['execute', 'read'] })
    await submit(t, a.token, { repo: 'secret' })
    await t.request('PATCH', '/v1/repos/secret', { token: a.session, body: { private: true } })
    return { t, a, b }
  }

  test("org B's credentials never read or change org A's data", async () => {
    const { t, a, b } = await twoOrgs()
    for (const credential of [b.token, b.session]) {
      expect((await t.request('GET', '/v1/executions?org=org-a&repo=secret', { token: credential })).status).toBe(403)
      expect((await t.request('GET', '/v1/executions/stream?org=org-a&repo=secret', { token: credential })).status).toBe(403)
      expect((await t.request('GET', '/v1/repos', { token: credential })).json.repos).toEqual([])
    }
    for (const [method, path] of [['GET', `/v1/tokens/${a.tokenId}`], ['PATCH', `/v1/tokens/${a.tokenId}`], ['POST', `/v1/tokens/${a.tokenId}/rotate`], ['DELETE', `/v1/tokens/${a.tokenId}`]] as const)
      expect((await t.request(method, path, { token: b.session, body: method === 'PATCH' ? { agent_type: 'x' } : undefined })).status).toBe(404)
    expect((await t.request('PATCH', '/v1/repos/secret', { token: b.session, body: { private: false } })).status).toBe(404)
    // B submitting to a repo with A's name creates B's own repo; A's is untouched
    expect((await submit(t, b.token, { repo: 'secret', coverage: 1 })).status).toBe(201)
    expect((await t.request('GET', '/v1/executions?org=org-a&repo=secret', { token: a.token })).json.total).toBe(1)
    expect((await t.request('GET', '/v1/analytics', { token: b.session })).json.totals.executions).toBe(1)
    const audit = (await t.request('GET', '/v1/audit-log?limit=100', { token: b.session })).json.events
    expect(JSON.stringify(audit)).not.toContain(a.orgId)
    expect((await t.request('GET', `/v1/badge/org-a/secret?token=${b.token}`)).text).toContain('unknown')
    expect((await t.request('POST', '/v1/auth/validate', { body: { token: a.token } })).json.org_id).toBe(a.orgId)
  })

  test('revoked, rotated-past-grace and spliced tokens are refused on every token route', async () => {
    const { t, a } = await twoOrgs()
    const rotated = await t.request('POST', `/v1/tokens/${a.tokenId}/rotate`, { token: a.session })
    t.clock.advance(86_400_000)
    const spliced = `nlp_${rotated.json.secret.slice(4, 36)}${a.token.slice(36)}`
    for (const credential of [a.token, spliced, a.token.slice(0, -2), `${a.token}00`]) {
      expect((await submit(t, credential, {})).status).toBe(401)
      expect((await t.request('GET', '/v1/executions?org=org-a&repo=secret', { token: credential })).status).toBe(401)
      expect((await t.request('GET', '/v1/repos', { token: credential })).status).toBe(401)
    }
    expect((await submit(t, rotated.json.secret, {})).status).toBe(201)
  })

  test('expired sessions are refused everywhere a session is accepted', async () => {
    const { t, a } = await twoOrgs()
    t.clock.advance(86_400_000)
    for (const [method, path] of [['GET', '/v1/tokens'], ['GET', '/v1/usage'], ['GET', '/v1/analytics'], ['GET', '/v1/audit-log'], ['GET', '/v1/repos']] as const)
      expect((await t.request(method, path, { token: a.session })).status).toBe(401)
  })
})
