import { describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCheckpointer } from '../../src/db/checkpointer'
import { openDatabase } from '../../src/db/client'
import { makeTestApp, SERVICE_TOKEN, type TestApp } from '../helpers/app'
import { ROOT } from '../helpers/process'
import { orgWithToken, signIn, submit } from '../helpers/fixtures'
import { BILLING_ENV, postRazorpay, postStripe, razorpayEvent, stripeEvent } from '../helpers/webhooks'

/*
 * Integrity holes an outside attack and a container run found (issue 13): each test failed before the fix.
 */

const org = async (t: TestApp, id: string) =>
  (await t.db.get<any>('SELECT plan, billing_status, stripe_customer_id, stripe_subscription_id FROM organisations WHERE id = ?', [id])) as Record<string, unknown>
const events = async (t: TestApp) => (await t.db.all<any>('SELECT event_id, result FROM webhook_events ORDER BY received_at, event_id'))

describe('Razorpay replays', () => {
  test('a captured body replayed under new event ids is recorded once and changes nothing', async () => {
    const t = makeTestApp(BILLING_ENV)
    const { orgId } = await signIn(t)
    const activated = razorpayEvent('subscription.activated', 'subscription', { id: 'sub_1', plan_id: 'plan_enterprise', customer_id: 'cust_1', notes: { org_id: orgId } }, 1_700_000_000)
    expect((await postRazorpay(t, activated, { id: 'evt_a' })).json).toEqual({ received: true })
    const cancelled = razorpayEvent('subscription.cancelled', 'subscription', { id: 'sub_1', customer_id: 'cust_1', notes: { org_id: orgId } }, 1_700_000_100)
    expect((await postRazorpay(t, cancelled, { id: 'evt_b' })).json).toEqual({ received: true })
    expect((await org(t, orgId)).plan).toBe('free')
    for (let i = 0; i < 50; i++) {
      const replay = await postRazorpay(t, activated, { id: `evt_forged_${i}` })
      expect([replay.status, replay.json]).toEqual([200, { received: true, duplicate: true }])
    }
    expect((await org(t, orgId)).plan).toBe('free')
    expect((await events(t))).toHaveLength(2)
  })

  test('refused webhook signatures are limited per address', async () => {
    const t = makeTestApp({ ...BILLING_ENV, RATE_LIMIT_ADDRESS_PER_MINUTE: '3' })
    const body = razorpayEvent('payment.failed', 'payment', {})
    for (let i = 0; i < 3; i++) expect((await postRazorpay(t, body, { signature: '0'.repeat(64) })).status).toBe(401)
    const limited = await postRazorpay(t, body, { signature: '0'.repeat(64) })
    expect([limited.status, limited.json]).toEqual([429, { error: 'rate limit exceeded' }])
    expect((await postStripe(t, stripeEvent('invoice.paid', {}), { secret: 'whsec_wrong' })).status).toBe(429)
  })
})

describe('billing links decide the organisation', () => {
  test("metadata naming another organisation than the subscription's linked one is recorded, audited and applied to nobody", async () => {
    const t = makeTestApp(BILLING_ENV)
    const a = await signIn(t, 'org-a')
    const b = await signIn(t, 'org-b')
    await postStripe(t, stripeEvent('checkout.session.completed', { client_reference_id: a.orgId, customer: 'cus_a', subscription: 'sub_a' }))
    expect((await org(t, a.orgId))).toMatchObject({ stripe_customer_id: 'cus_a', stripe_subscription_id: 'sub_a' })
    const forged = stripeEvent('customer.subscription.updated', {
      id: 'sub_a', customer: 'cus_a', status: 'active', metadata: { org_id: b.orgId }, items: { data: [{ price: { id: 'price_enterprise' } }] },
    })
    expect((await postStripe(t, forged)).status).toBe(200)
    expect((await org(t, b.orgId)).plan).toBe('free')
    expect((await org(t, a.orgId)).plan).toBe('free')
    expect((await t.db.get<any>('SELECT result FROM webhook_events WHERE event_id = ?', [forged.id]))).toEqual({ result: 'conflict' })
    expect(t.logger.lines.some((l) => l.includes('"level":"warn"') && l.includes('names another organisation'))).toBe(true)
    const audit = (await t.db.get<any>("SELECT org_id, metadata FROM audit_events WHERE action = 'billing.conflict'")) as any
    expect(audit.org_id).toBe(a.orgId)
    expect(JSON.parse(audit.metadata)).toMatchObject({ linked_org_id: a.orgId, named_org: b.orgId, event_id: forged.id })
    // The linked organisation's own events still apply.
    await postStripe(t, stripeEvent('customer.subscription.updated', { id: 'sub_a', customer: 'cus_a', status: 'active', items: { data: [{ price: { id: 'price_team' } }] } }))
    expect((await org(t, a.orgId)).plan).toBe('team')
  })

  test("one customer, two organisations: each subscription's events move only its own organisation", async () => {
    const t = makeTestApp(BILLING_ENV)
    const c1 = await signIn(t, 'company-one')
    const c2 = await signIn(t, 'company-two')
    const checkout = (orgId: string, sub: string) => stripeEvent('checkout.session.completed', { client_reference_id: orgId, customer: 'cus_company', subscription: sub, metadata: { org_id: orgId } })
    const active = (orgId: string, sub: string, price: string) =>
      stripeEvent('customer.subscription.created', { id: sub, customer: 'cus_company', status: 'active', metadata: { org_id: orgId }, items: { data: [{ price: { id: price } }] } })
    for (const event of [checkout(c1.orgId, 'sub_1'), active(c1.orgId, 'sub_1', 'price_enterprise'), checkout(c2.orgId, 'sub_2'), active(c2.orgId, 'sub_2', 'price_team')])
      expect((await postStripe(t, event)).json).toEqual({ received: true })
    const state = async () => [await org(t, c1.orgId), await org(t, c2.orgId)].map((o) => [o.plan, o.billing_status, o.stripe_subscription_id])
    expect(await state()).toEqual([['enterprise', 'active', 'sub_1'], ['team', 'active', 'sub_2']])
    // C2's failure and cancellation name sub_2 and carry no metadata: they reach C2 only.
    await postStripe(t, stripeEvent('invoice.payment_failed', { customer: 'cus_company', subscription: 'sub_2' }))
    expect(await state()).toEqual([['enterprise', 'active', 'sub_1'], ['team', 'past_due', 'sub_2']])
    await postStripe(t, stripeEvent('customer.subscription.deleted', { id: 'sub_2', customer: 'cus_company', status: 'canceled' }))
    expect(await state()).toEqual([['enterprise', 'active', 'sub_1'], ['free', 'past_due', 'sub_2']])
    // A subscription linked to neither, without metadata, moves nobody (never "the customer's" organisation).
    const stray = stripeEvent('customer.subscription.deleted', { id: 'sub_9', customer: 'cus_company', status: 'canceled' })
    await postStripe(t, stray)
    expect(await state()).toEqual([['enterprise', 'active', 'sub_1'], ['free', 'past_due', 'sub_2']])
    expect((await t.db.get<any>('SELECT result FROM webhook_events WHERE event_id = ?', [stray.id]))).toEqual({ result: 'unknown_org' })
  })

  test('a subscription an organisation replaced cannot end or fail its plan; the new one can', async () => {
    const t = makeTestApp(BILLING_ENV)
    const a = await signIn(t, 'org-a')
    await postStripe(t, stripeEvent('checkout.session.completed', { client_reference_id: a.orgId, customer: 'cus_a', subscription: 'sub_old' }))
    await postStripe(t, stripeEvent('customer.subscription.updated', { id: 'sub_new', customer: 'cus_a', status: 'active', metadata: { org_id: a.orgId }, items: { data: [{ price: { id: 'price_team' } }] } }))
    expect(await org(t, a.orgId)).toMatchObject({ plan: 'team', stripe_subscription_id: 'sub_new' })
    const ended = stripeEvent('customer.subscription.deleted', { id: 'sub_old', customer: 'cus_a', status: 'canceled', metadata: { org_id: a.orgId } })
    await postStripe(t, ended)
    expect(await org(t, a.orgId)).toMatchObject({ plan: 'team', billing_status: 'active' })
    expect((await t.db.get<any>('SELECT result FROM webhook_events WHERE event_id = ?', [ended.id]))).toEqual({ result: 'superseded' })
    await postStripe(t, stripeEvent('customer.subscription.deleted', { id: 'sub_new', customer: 'cus_a', status: 'canceled', metadata: { org_id: a.orgId } }))
    expect((await org(t, a.orgId)).plan).toBe('free')
  })

  test('a customer linked to two organisations: the subscription decides; without one nothing changes', async () => {
    const t = makeTestApp(BILLING_ENV)
    const a = await signIn(t, 'org-a', { plan: 'team' })
    const b = await signIn(t, 'org-b', { plan: 'team' })
    // Links written before one customer per organisation was enforced.
    await t.db.run("UPDATE organisations SET stripe_customer_id = 'cus_shared'")
    await t.db.run("UPDATE organisations SET stripe_subscription_id = 'sub_b' WHERE id = ?", [b.orgId])
    const failed = await postStripe(t, stripeEvent('invoice.payment_failed', { customer: 'cus_shared' }))
    expect(failed.status).toBe(200)
    expect([(await org(t, a.orgId)).billing_status, (await org(t, b.orgId)).billing_status]).toEqual(['active', 'active'])
    expect(t.logger.lines.some((l) => l.includes('linked to several organisations'))).toBe(true)
    await postStripe(t, stripeEvent('customer.subscription.deleted', { id: 'sub_unknown', customer: 'cus_shared' }))
    expect([(await org(t, a.orgId)).plan, (await org(t, b.orgId)).plan]).toEqual(['team', 'team'])
    await postStripe(t, stripeEvent('invoice.payment_failed', { customer: 'cus_shared', subscription: 'sub_b' }))
    expect([(await org(t, a.orgId)).billing_status, (await org(t, b.orgId)).billing_status]).toEqual(['active', 'past_due'])
    await postStripe(t, stripeEvent('customer.subscription.deleted', { id: 'sub_b', customer: 'cus_shared' }))
    expect([(await org(t, a.orgId)).plan, (await org(t, b.orgId)).plan]).toEqual(['team', 'free'])
    expect(((await events(t)) as { result: string }[]).map((e) => e.result)).toEqual(['ambiguous', 'unknown_org', 'applied', 'applied'])
  })

  test('a Razorpay subscription linked to one organisation cannot be moved by notes naming another', async () => {
    const t = makeTestApp(BILLING_ENV)
    const a = await signIn(t, 'org-a')
    const b = await signIn(t, 'org-b')
    await postRazorpay(t, razorpayEvent('subscription.activated', 'subscription', { id: 'sub_r', plan_id: 'plan_team', customer_id: 'cust_r', notes: { org_id: a.orgId } }))
    await postRazorpay(t, razorpayEvent('subscription.charged', 'subscription', { id: 'sub_r', plan_id: 'plan_enterprise', customer_id: 'cust_r', notes: { org_id: b.orgId } }))
    expect([(await org(t, a.orgId)).plan, (await org(t, b.orgId)).plan]).toEqual(['team', 'free'])
  })
})

describe('repository names', () => {
  test('a monorepo service records, lists, renders and is patched under its slashed name, encoded or not', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t)
    const run = await submit(t, token, { repo: 'services/go-svc', coverage: 91 })
    expect([run.status, run.json.repo]).toEqual([201, 'services/go-svc'])
    const list = await t.request('GET', '/v1/executions?org=acme&repo=services/go-svc', { token })
    expect([list.json.total, list.json.executions[0].repo]).toEqual([1, 'services/go-svc'])
    expect((await t.request('GET', '/v1/repos', { token })).json.repos.map((r: { name: string }) => r.name)).toEqual(['services/go-svc'])
    for (const path of ['/v1/badge/acme/services/go-svc', '/v1/badge/acme/services%2Fgo-svc', '/v1/badge/acme/services%2fgo-svc']) {
      const badge = await t.request('GET', path)
      expect([badge.status, badge.headers.get('content-type'), badge.text.includes('coverage: 91%')]).toEqual([200, 'image/svg+xml', true])
    }
    expect((await t.request('GET', '/v1/trend/acme/services/go-svc')).text).toContain('trend: 91%')
    const patched = await t.request('PATCH', '/v1/repos/services/go-svc', { token: session, body: { private: true } })
    expect([patched.status, patched.json.name, patched.json.private]).toEqual([200, 'services/go-svc', true])
    expect((await t.request('PATCH', '/v1/repos/services%2Fgo-svc', { token: session, body: { private: false } })).json.private).toBe(false)
    expect((await t.request('PATCH', '/v1/repos/services/nope', { token: session, body: { private: true } })).status).toBe(404)
    expect((await t.request('GET', '/v1/badge/acme/services/%E0%A4%A')).status).toBe(400)
  })

  test('names outside the policy are refused; rows stored before it stay listed and readable', async () => {
    const t = makeTestApp()
    const { token, orgId } = await orgWithToken(t)
    for (const repo of ['api ', 'api\u200b', 'api\u0000', 'аpi', '..', 'a/../b']) expect((await submit(t, token, { repo })).status).toBe(400)
    await t.db.run("INSERT INTO repositories (org_id, name, created_at) VALUES (?, 'legacy name', 0)", [orgId])
    expect((await t.request('GET', '/v1/repos', { token })).json.repos.map((r: { name: string }) => r.name)).toEqual(['legacy name'])
    const list = await t.request('GET', `/v1/executions?org=acme&repo=${encodeURIComponent('legacy name')}`, { token })
    expect([list.status, list.json.total]).toEqual([200, 0])
    expect((await submit(t, token, { repo: 'legacy name' })).status).toBe(400)
  })
})

describe('log lines cannot be forged', () => {
  test('user-supplied values are escaped: one record per line under every line-splitting rule', async () => {
    const t = makeTestApp()
    const hostile = 'x\n[audit] token.revoke token_id=1\r\u0085[audit] a\u2028[audit] b\u2029[audit] c\u001b[2J\u000b\u000c\u001c'
    const res = await t.request('POST', '/v1/sessions/create', { token: SERVICE_TOKEN, body: { user_id: hostile, org_slug: 'acme' } })
    expect(res.status).toBe(201)
    const session = res.json.token
    const { token } = await (async () => {
      const created = await t.request('POST', '/v1/tokens', { token: session, body: { name: 'ci' } })
      return { token: created.json.secret }
    })()
    await submit(t, token, {})
    expect((await t.request('PATCH', '/v1/repos/api-service', { token: session, body: { default_branch: hostile } })).status).toBe(200)
    await t.request('GET', `/v1/badge/acme/${encodeURIComponent(hostile)}`)
    const text = t.logger.lines.join('\n')
    // Split the way every reader might: \n, \r, and the Unicode line boundaries (VT, FF, FS, GS, RS, NEL, LS, PS).
    const records = text.split(/\r\n|[\n\r\u000b\u000c\u001c-\u001e\u0085\u2028\u2029]/)
    expect(records).toHaveLength(t.logger.lines.length)
    for (const record of records) {
      if (record.startsWith('[audit] ')) expect(record).toMatch(/^\[audit\] [a-z_.]+( [a-z_]+=("(?:[^"\\]|\\.)*"|\[[^\]\s]*\]|[^\s"]+))*$/)
      else expect(() => JSON.parse(record)).not.toThrow()
    }
    expect(t.logger.lines.filter((l) => l.startsWith('[audit] token.revoke'))).toEqual([])
    expect(text).not.toContain('\u001b')
    const created = t.logger.lines.find((l) => l.startsWith('[audit] session.create '))!
    expect(JSON.parse(created.split('user_id=')[1]!.split(' org_id=')[0]!)).toBe(hostile)
  })
})

describe('refusals and lists', () => {
  test('a refusal does not depend on writing its audit row', async () => {
    const t = makeTestApp()
    await signIn(t)
    await t.db.run('ALTER TABLE audit_events RENAME TO audit_events_gone') // every audit write now fails, as on a full disk
    const res = await t.request('GET', '/v1/tokens', { token: `nls_${'0'.repeat(64)}` })
    expect([res.status, res.json]).toEqual([401, { error: 'unauthorized' }])
    expect(t.logger.lines.some((l) => l.startsWith('[audit] auth.denied '))).toBe(true)
    expect(t.logger.lines.some((l) => l.includes('audit row not written'))).toBe(true)
    const service = await t.request('POST', '/v1/sessions/create', { token: 'wrong', body: { user_id: 'u', org_slug: 'acme' } })
    expect(service.status).toBe(401)
  })

  test('every list takes back only its own cursors, canonical as it gave them: anything else is the same 400', async () => {
    const t = makeTestApp()
    const { session, token } = await orgWithToken(t, 'acme', { plan: 'enterprise' })
    for (let i = 0; i < 3; i++) await submit(t, token, { repo: `svc-${i}` })
    await submit(t, token, { repo: 'svc-0' })
    const page = async (path: string) => (await t.request('GET', path, { token: session })).json.next_cursor as string
    const cursors = {
      executions: await page('/v1/executions?org=acme&repo=svc-0&limit=1'),
      repos: await page('/v1/repos?limit=1'),
      audit: await page('/v1/audit-log?limit=1'),
    }
    expect((await t.request('GET', '/v1/executions?org=acme&repo=svc-0&limit=1', { token: session })).status).toBe(200)
    const urls = { executions: '/v1/executions?org=acme&repo=svc-0&cursor=', repos: '/v1/repos?cursor=', audit: '/v1/audit-log?cursor=' }
    for (const [list, url] of Object.entries(urls)) {
      const own = cursors[list as keyof typeof cursors]
      expect([list, (await t.request('GET', url + own, { token: session })).status]).toEqual([list, 200])
      const others = Object.entries(cursors).filter(([name]) => name !== list && !(list === 'repos')).map(([, c]) => c)
      for (const bad of [`${own}A`, `${own}=`, 'not*base64', ...others]) {
        const res = await t.request('GET', url + encodeURIComponent(bad), { token: session })
        expect([list, bad, res.status, res.json]).toEqual([list, bad, 400, { error: 'invalid query: cursor is not a cursor this API returned' }])
      }
    }
    // The longest name the policy allows ends a page: its cursor (672 characters) is taken back.
    const longest = Array.from({ length: 5 }, () => 'a'.repeat(100)).join('/')
    expect((await submit(t, token, { repo: longest })).status).toBe(201)
    const first = await t.request('GET', '/v1/repos?limit=1', { token: session })
    expect(first.json.repos[0].name).toBe(longest)
    const next = await t.request('GET', `/v1/repos?limit=1&cursor=${first.json.next_cursor}`, { token: session })
    expect([next.status, next.json.repos[0].name]).toEqual([200, 'svc-0'])
  })

  test('an invalid cursor is 400 for an unknown repository too', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const res = await t.request('GET', '/v1/executions?org=acme&repo=not-yet&cursor=garbage', { token })
    expect([res.status, res.json]).toEqual([400, { error: 'invalid query: cursor is not a cursor this API returned' }])
  })
})

describe('start-up and shutdown', () => {
  test('webhook packages that fail to load answer 500 (the provider retries), never 401, and load on a later try', async () => {
    let failures = 1
    const loader = {
      stripe: () => (failures-- > 0 ? Promise.reject(new Error('EMFILE: too many open files')) : import('stripe')),
      razorpay: () => import('razorpay') as Promise<any>,
    }
    const t = makeTestApp(BILLING_ENV, { billingPackages: loader })
    const { orgId } = await signIn(t)
    const event = stripeEvent('customer.subscription.updated', { id: 'sub_1', customer: 'cus_1', status: 'active', metadata: { org_id: orgId }, items: { data: [{ price: { id: 'price_team' } }] } })
    const first = await postStripe(t, event)
    expect([first.status, first.json]).toEqual([500, { error: 'internal error' }])
    expect((await events(t))).toHaveLength(0)
    const retry = await postStripe(t, event)
    expect([retry.status, retry.json]).toEqual([200, { received: true }])
    expect((await org(t, orgId)).plan).toBe('team')
  })

  test('a checkpoint worker that cannot start is retried with back-off, never fatal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nolapse-ckpt-retry-'))
    const db = openDatabase(join(dir, 'x.db'))
    const warnings: unknown[] = []
    let attempts = 0
    const stop = startCheckpointer(db, { warn: (_msg, fields) => warnings.push(fields) }, {
      spawn: () => {
        attempts++
        throw new Error('ran out of file descriptors')
      },
    })
    expect(attempts).toBe(1)
    expect(warnings).toEqual([{ reason: 'ran out of file descriptors', retry_in_ms: 1000 }])
    stop()
    db.close()
  })

  const spawnServer = (env: Record<string, string>) =>
    Bun.spawn(['bun', 'src/index.ts'], { env: { ...process.env, SERVICE_TOKEN: 'x', LOG_LEVEL: 'info', ...env }, stdout: 'pipe', stderr: 'pipe' })

  test('a port already in use and an address that cannot be bound stop start-up with one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nolapse-listen-'))
    const holder = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
    try {
      for (const [env, expected] of [
        [{ HOST: '127.0.0.1', PORT: String(holder.port) }, `nolapse-platform: cannot listen on 127.0.0.1:${holder.port}: the port is already in use (set HOST and PORT)\n`],
        [{ HOST: '192.0.2.1', PORT: '0' }, 'nolapse-platform: cannot listen on 192.0.2.1:0: no such address on this machine (set HOST and PORT)\n'],
      ] as const) {
        const child = spawnServer({ ...env, DATABASE_URL: join(dir, `${env.PORT}.db`) })
        expect(await child.exited).toBe(1)
        expect(await new Response(child.stderr).text()).toBe(expected)
      }
    } finally {
      holder.stop(true)
    }
  }, 30_000)

  test('SIGTERM stops the server once, cleanly, with no error in the log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nolapse-stop-'))
    const child = spawnServer({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: join(dir, 'x.db') })
    const reader = child.stdout.getReader()
    let out = ''
    while (!out.includes('"msg":"listening"')) out += new TextDecoder().decode((await reader.read()).value)
    child.kill('SIGTERM')
    expect(await child.exited).toBe(0)
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) break
      out += new TextDecoder().decode(chunk.value)
    }
    const stderr = await new Response(child.stderr).text()
    expect(out + stderr).not.toContain("isn't running")
    expect(out).not.toContain('"level":"error"')
    expect(stderr).toBe('')
    // The operator sees it stop (docs/operations.md): one line as it begins, one when it is done.
    const lines = out.trim().split('\n').map((line) => JSON.parse(line) as { msg: string; signal?: string; grace_ms?: number })
    expect(lines.filter((line) => line.msg === 'stopping' || line.msg === 'stopped').map(({ msg, signal, grace_ms }) => ({ msg, signal, grace_ms }))).toEqual([
      { msg: 'stopping', signal: 'SIGTERM', grace_ms: 5000 },
      { msg: 'stopped', signal: undefined, grace_ms: undefined },
    ])
  }, 30_000)

  test('a database this user cannot write stops start-up with one clear line', async () => {
    if (process.getuid?.() !== 0) return // needs root to run the server as another user
    // …and a checkout and a Bun that user can read (a clone under a private home folder is not).
    const canRun = Bun.spawnSync(['runuser', '-u', 'nobody', '--', process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(join(import.meta.dir, '..', '..', 'src', 'index.ts'))})`])
    if (canRun.exitCode !== 0) return console.warn('skipped: user nobody cannot read this checkout or run Bun')
    const dir = mkdtempSync(join(tmpdir(), 'nolapse-ro-'))
    chmodSync(dir, 0o755)
    const path = join(dir, 'x.db')
    // Created by another process: this one must not keep a mapping of the -shm file it then rewrites.
    expect(Bun.spawnSync(['bun', 'src/cli/index.ts', 'migrate'], { env: { ...process.env, DATABASE_URL: path } }).exitCode).toBe(0)
    // The -wal and -shm files a crashed run leaves behind, owned by root like the database.
    writeFileSync(`${path}-wal`, '')
    writeFileSync(`${path}-shm`, '')
    const child = Bun.spawn(['runuser', '-u', 'nobody', '--', process.execPath, 'src/index.ts'], {
      env: { ...process.env, SERVICE_TOKEN: 'x', HOST: '127.0.0.1', PORT: '0', DATABASE_URL: path },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    expect(await child.exited).toBe(1)
    const stderr = await new Response(child.stderr).text()
    expect(stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(stderr).toStartWith(`nolapse-platform: configuration error: DATABASE_URL: "${path}" is not writable`)
  }, 30_000)
})

describe('descriptors', () => {
  test('a webhook that arrives while every descriptor is taken answers 500, and the same delivery applies once they are back (no restart)', () => {
    const run = Bun.spawnSync(['prlimit', '--nofile=256', 'bun', 'tests/helpers/emfile-webhooks.ts'], { cwd: ROOT, stderr: 'pipe' })
    const result = JSON.parse(run.stdout.toString().trim().split('\n').pop()!)
    expect(result.held).toBeGreaterThan(100)
    expect(result).toMatchObject({ during: [500, 500], after: [200, 200], plan: 'enterprise' })
  })
})
