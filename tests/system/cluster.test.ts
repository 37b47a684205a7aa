import { describe, expect, test } from 'bun:test'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { memoryLogger } from '../../src/lib/logger'
import { SERVICE_TOKEN } from '../helpers/app'
import { freshPostgres, onPostgres, sharedDatabases, urlFor } from '../helpers/db'
import { freePort, ROOT } from '../helpers/process'
import { SQL } from 'bun'
import { BILLING_ENV, postStripe, stripeEvent, webhookTarget } from '../helpers/webhooks'
import type { TestApp } from '../helpers/app'
import { REPO_FRESH_MS } from '../../src/modules/executions/repo-changes'

/*
 * Two instances on one PostgreSQL database: what one changes reaches the other's caches and streams
 * through LISTEN/NOTIFY within a second, not at the 30 s cache TTL or the 5 s stream poll (the poll is
 * set to a minute here, so only the notification can deliver in time).
 */
const WITHIN_MS = 1000

async function twoInstances(options: { env?: Record<string, string>; leaseMs?: number; pollMs?: number; clusterTiming?: { beatMs: number; deafMs: number } } = {}) {
  const config = loadConfig({ DATABASE_URL: ':memory:', SERVICE_TOKEN, ...BILLING_ENV, ...options.env })
  const instances = (await sharedDatabases(2)).map((db) => {
    const app = createApp({ config, db, logger: memoryLogger(), streamTiming: { heartbeatMs: 60_000, pollMs: options.pollMs ?? 60_000, leaseMs: options.leaseMs }, clusterTiming: options.clusterTiming })
    return { db, app }
  })
  await Promise.all(instances.map((i) => i.app.ready()))
  const call = async (i: number, method: string, path: string, token?: string, body?: unknown) => {
    const res = await instances[i]!.app.handle(
      new Request(`http://localhost${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    )
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : undefined }
  }
  const asTestApp = (i: number) => webhookTarget((request) => instances[i]!.app.handle(request))
  const openStream = (i: number, token: string) =>
    instances[i]!.app.handle(new Request('http://localhost/v1/executions/stream?org=acme&repo=svc', { headers: { authorization: `Bearer ${token}` } }))
  /** Opens the event stream on instance i; `frames` collects what arrives, `ended` resolves when it closes. */
  const stream = async (i: number, token: string) => {
    const res = await openStream(i, token)
    expect(res.status).toBe(200)
    const frames: string[] = []
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    const ended = (async () => {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        frames.push(value)
      }
    })()
    return { frames, ended, cancel: () => reader.cancel() }
  }
  const close = async () => {
    for (const { app, db } of instances) {
      await app.stop()
      await db.close()
    }
  }
  return { instances, call, stream, openStream, asTestApp, close }
}

async function within<T>(ms: number, probe: () => Promise<T>, done: (value: T) => boolean): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  for (;;) {
    const value = await probe()
    const elapsed = performance.now() - started
    if (done(value) || elapsed > ms) return { value, ms: elapsed }
    await Bun.sleep(20)
  }
}

/**
 * Cuts every instance's LISTEN connection while new connections to the database are refused for `ms`
 * (ALLOW_CONNECTIONS false, which holds for superusers too): what is sent meanwhile is lost, and Bun
 * re-listens by itself, silently, once connections are allowed again. `during` runs inside the gap.
 */
async function loseNotifications(database: string, ms: number, during: () => Promise<unknown>) {
  const admin = new SQL(TEST_DATABASE_URL_ADMIN(), { max: 1 })
  try {
    await admin.unsafe(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`)
    const killed = await admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN%'`, [database])
    expect(killed.length).toBeGreaterThanOrEqual(2)
    const started = performance.now()
    await during()
    await Bun.sleep(Math.max(0, ms - (performance.now() - started)))
  } finally {
    await admin.unsafe(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`)
    await admin.close()
  }
}
const TEST_DATABASE_URL_ADMIN = () => Bun.env.TEST_DATABASE_URL!

describe.skipIf(!onPostgres)('several instances on one PostgreSQL', () => {
  test.each([1000, 4000])('B loses its LISTEN connection while connections are refused for %p ms: a token revoked on A meanwhile is refused by B within 3.5 s, its stream on B ends within a poll', async (gapMs) => {
    const { instances, call, stream, close } = await twoInstances({ pollMs: 5000 })
    const session = (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: 'acme' })).json.token
    const token = (await call(0, 'POST', '/v1/tokens', session, { name: 'ci' })).json
    expect((await call(1, 'POST', '/v1/auth/validate', undefined, { token: token.secret })).status).toBe(200)
    const open = await stream(1, token.secret)
    let revokedAt = 0
    const gap = loseNotifications(instances[0]!.db.label, gapMs, async () => {
      expect((await call(0, 'DELETE', `/v1/tokens/${token.id}`, session)).status).toBe(204)
      revokedAt = performance.now()
    })
    await Bun.sleep(100)
    // B answered from its cache until it noticed; a refusal either way (401, or 503 while it cannot reach the database).
    const refused = await within(8000, () => call(1, 'POST', '/v1/auth/validate', undefined, { token: token.secret }), (r) => r.status === 401)
    expect(refused.value.status).toBe(401)
    // 3.5 s in the worst case (modules/cluster.ts), with room for a busy test machine.
    expect(performance.now() - revokedAt).toBeLessThan(4000)
    expect(await Promise.race([open.ended.then(() => 'ended'), Bun.sleep(Math.max(0, 5500 - (performance.now() - revokedAt))).then(() => 'still open')])).toBe('ended')
    await gap
    await within(5000, async () => instances[1]!.app.hearing(), (hearing) => hearing)
    expect(instances[1]!.app.hearing()).toBe(true)
    await close()
  }, 30_000)

  test('with every notification lost and none missed yet, an open stream still ends within one poll of its revocation: the poll reads the database', async () => {
    const { instances, call, stream, close } = await twoInstances({ pollMs: 500, clusterTiming: { beatMs: 600_000, deafMs: 600_000 } })
    const session = (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: 'acme' })).json.token
    const token = (await call(0, 'POST', '/v1/tokens', session, { name: 'ci' })).json
    expect((await call(1, 'POST', '/v1/auth/validate', undefined, { token: token.secret })).status).toBe(200)
    const open = await stream(1, token.secret)
    await loseNotifications(instances[0]!.db.label, 300, () => call(0, 'DELETE', `/v1/tokens/${token.id}`, session))
    expect(await Promise.race([open.ended.then(() => 'ended'), Bun.sleep(2000).then(() => 'still open')])).toBe('ended')
    await close()
  }, 30_000)

  test('a token revoked on A is refused by B within a second, and its stream on B ends', async () => {
    const { call, stream, close } = await twoInstances()
    const session = (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: 'acme' })).json.token
    const token = (await call(0, 'POST', '/v1/tokens', session, { name: 'ci' })).json
    // B validates (and caches) the token, and follows a stream with it.
    expect((await call(1, 'POST', '/v1/auth/validate', undefined, { token: token.secret })).status).toBe(200)
    const open = await stream(1, token.secret)
    expect((await call(0, 'DELETE', `/v1/tokens/${token.id}`, session)).status).toBe(204)
    const refused = await within(WITHIN_MS, () => call(1, 'POST', '/v1/auth/validate', undefined, { token: token.secret }), (r) => r.status === 401)
    expect(refused.value.status).toBe(401)
    expect(await Promise.race([open.ended.then(() => 'ended'), Bun.sleep(WITHIN_MS).then(() => 'still open')])).toBe('ended')
    await close()
  }, 20_000)

  test('a run recorded on A reaches a stream on B within a second; a logout on A ends the session stream on B', async () => {
    const { call, stream, close } = await twoInstances()
    const session = (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: 'acme' })).json
    const token = (await call(0, 'POST', '/v1/tokens', session.token, { name: 'ci' })).json.secret
    const byToken = await stream(1, token)
    const bySession = await stream(1, session.token)
    const started = performance.now()
    const run = (await call(0, 'POST', '/v1/executions', token, { repo: 'svc', branch: 'main', coverage: 77 })).json
    const arrived = await within(WITHIN_MS, async () => byToken.frames.join(''), (text) => text.includes(run.id))
    expect(arrived.value).toContain(`id: ${run.id}`)
    expect(performance.now() - started).toBeLessThan(WITHIN_MS)
    // The session's stream re-checks its session (a read) before each frame: it follows a moment later.
    expect((await within(WITHIN_MS, async () => bySession.frames.join(''), (text) => text.includes(run.id))).value).toContain(run.id)
    expect((await call(0, 'DELETE', `/v1/sessions/${session.id}`)).status).toBe(204)
    expect(await Promise.race([bySession.ended.then(() => 'ended'), Bun.sleep(WITHIN_MS).then(() => 'still open')])).toBe('ended')
    await byToken.cancel()
    await close()
  }, 20_000)

  test('a client spreading requests over both instances gets its limit once, not once per instance', async () => {
    const { call, close } = await twoInstances()
    const session = (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: 'acme' })).json.token
    // Free plan: 60 a minute per credential. 100 requests, alternately to A and B, in well under a second.
    const statuses = await Promise.all(Array.from({ length: 100 }, (_, i) => call(i % 2, 'GET', '/v1/repos', session).then((r) => r.status)))
    const granted = statuses.filter((s) => s === 200).length
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([])
    expect(granted).toBeGreaterThanOrEqual(60)
    expect(granted).toBeLessThanOrEqual(66) // the limit + 10 %: each instance alone would have granted 50 + 50
    await close()
  }, 20_000)

  test('stream caps per credential and per organisation count the streams of both instances', async () => {
    const { call, stream, openStream, close } = await twoInstances({ env: { STREAMS_PER_CREDENTIAL_FREE: '3' } })
    const sessions = await Promise.all(
      ['u1', 'u2', 'u3', 'u4', 'u5'].map(async (user) => (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: user, org_slug: 'acme' })).json.token as string),
    )
    // Per credential (3 on the free plan here): two on A and one on B fill it, on both instances.
    const first = [await stream(0, sessions[0]!), await stream(0, sessions[0]!), await stream(1, sessions[0]!)]
    for (const i of [0, 1]) {
      const refused = await openStream(i, sessions[0]!)
      expect(refused.status).toBe(429)
      expect(await refused.json()).toEqual({ error: 'too many open event streams for this credential (3/3)' })
      expect(refused.headers.get('retry-after')).toBe('10')
    }
    // A stream closed on A gives its slot back to B.
    await first[0]!.cancel()
    const reopened = await within(WITHIN_MS, () => openStream(1, sessions[0]!), (res) => res.status === 200)
    expect(reopened.value.status).toBe(200)
    // Per organisation (4 × 3 = 12): three are open; nine more fill it, wherever they are opened.
    const more = []
    for (let n = 0; n < 9; n++) more.push(await stream(n % 2, sessions[1 + (n % 4)]!))
    const refused = await openStream(1, sessions[4]!)
    expect(refused.status).toBe(429)
    expect(await refused.json()).toEqual({ error: 'too many open event streams for this organisation (12/12)' })
    for (const open of [...first.slice(1), ...more]) await open.cancel()
    await reopened.value.body!.cancel()
    await close()
  }, 20_000)

  test("the streams of an instance that died stop counting when their leases expire; a live instance's are renewed", async () => {
    const { instances, call, stream, openStream, close } = await twoInstances({ env: { STREAMS_PER_CREDENTIAL_FREE: '1' }, leaseMs: 300 })
    const session = (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: 'acme' })).json.token
    const onA = await stream(0, session)
    await Bun.sleep(900) // three lease lengths: A renews its lease, so B still sees the slot taken
    expect((await openStream(1, session)).status).toBe(429)
    // A "dies": it stops renewing (its stream is never released); within a lease length the slot is free.
    await instances[0]!.app.stop()
    const freed = await within(WITHIN_MS, () => openStream(1, session), (res) => res.status === 200)
    expect(freed.value.status).toBe(200)
    await freed.value.body!.cancel()
    await onA.cancel()
    await close()
  }, 20_000)

  test("a run recorded on B is in A's list page and badge as soon as B's notification arrives, though A had both cached", async () => {
    const { instances, call, close } = await twoInstances()
    const session = (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: 'acme' })).json.token
    const token = (await call(0, 'POST', '/v1/tokens', session, { name: 'ci' })).json.secret
    expect((await call(0, 'POST', '/v1/executions', token, { repo: 'svc', branch: 'main', coverage: 61 })).status).toBe(201)
    const badge = async () => (await instances[0]!.app.handle(new Request('http://localhost/v1/badge/acme/svc'))).text()
    // A caches the page and the picture...
    expect((await call(0, 'GET', '/v1/executions?org=acme&repo=svc', token)).json.total).toBe(1)
    expect(await badge()).toContain('61%')
    expect(await badge()).toContain('61%')
    // ...B records a run and tells the others; A shows it once told (well inside REPO_FRESH_MS, the bound
    // that holds even when the notification is lost), not a second later.
    const run = (await call(1, 'POST', '/v1/executions', token, { repo: 'svc', branch: 'main', coverage: 93 })).json
    const list = await within(REPO_FRESH_MS / 2, async () => (await call(0, 'GET', '/v1/executions?org=acme&repo=svc', token)).json, (page) => page.total === 2)
    expect([list.value.total, list.value.executions[0].id]).toEqual([2, run.id])
    expect((await within(REPO_FRESH_MS / 2, badge, (svg) => svg.includes('93%'))).value).toContain('93%')
    // B makes the repository private: A stops showing its badge once told.
    expect((await call(1, 'PATCH', '/v1/repos/svc', session, { private: true })).status).toBe(200)
    expect((await within(REPO_FRESH_MS / 2, badge, (svg) => svg.includes('unknown'))).value).toContain('unknown')
    await close()
  }, 20_000)

  test("a plan change applied by A's webhook is B's plan within a second", async () => {
    const { call, asTestApp, close } = await twoInstances()
    const session = (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: 'acme' })).json
    expect((await call(1, 'GET', '/v1/usage', session.token)).json.plan).toBe('free') // B caches the organisation
    const event = stripeEvent('customer.subscription.created', { customer: 'c', status: 'active', metadata: { org_id: session.org_id }, items: { data: [{ price: { id: 'price_team' } }] } })
    expect((await postStripe(asTestApp(0), event)).status).toBe(200)
    const seen = await within(WITHIN_MS, async () => (await call(1, 'GET', '/v1/usage', session.token)).json, (usage) => usage.plan === 'team')
    expect(seen.value.plan).toBe('team')
    expect(seen.value.rate_limit_per_minute).toBe(600)
    await close()
  }, 20_000)
})

describe.skipIf(!onPostgres)('several server processes on one PostgreSQL', () => {

  /** The webhook helpers, over HTTP to a running instance. */
  const asHttp = (base: string) => webhookTarget(async (request) => fetch(base + new URL(request.url).pathname, { method: request.method, headers: request.headers, body: await request.text() }))

  async function serve(url: string, env: Record<string, string> = {}) {
    const port = await freePort()
    const proc = Bun.spawn(['bun', 'src/index.ts'], {
      cwd: ROOT,
      env: { ...process.env, ...BILLING_ENV, DATABASE_URL: url, PORT: String(port), HOST: '127.0.0.1', SERVICE_TOKEN, LOG_LEVEL: 'error', RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000', DATABASE_POOL_SIZE: '4', ...env },
      stdout: 'ignore',
      stderr: 'pipe',
    })
    const base = `http://127.0.0.1:${port}`
    for (let i = 0; i < 200 && !(await fetch(`${base}/health`).then((r) => r.ok, () => false)); i++) await Bun.sleep(50)
    return { proc, base }
  }

  test('three instances: parallel ingestion over all, a kill -9 of one, no lost or duplicated run, exact totals, exactly-once webhooks', async () => {
    const name = await freshPostgres()
    const url = urlFor(name)
    const servers = await Promise.all([serve(url), serve(url), serve(url)])
    const admin = new SQL(url, { max: 1 })
    try {
      const post = (i: number, path: string, body: unknown, token = SERVICE_TOKEN, headers: Record<string, string> = {}) =>
        fetch(`${servers[i]!.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers }, body: JSON.stringify(body) })
      const session = await (await post(0, '/v1/sessions/create', { user_id: 'u', org_slug: 'acme' })).json()
      await admin.unsafe("UPDATE organisations SET plan = 'enterprise'")
      const token = (await (await post(1, '/v1/tokens', { name: 'ci' }, session.token)).json()).secret

      // 600 runs, each with its own Idempotency-Key and each sent twice, to two different instances.
      const acknowledged = new Map<string, string>()
      let killed = false
      const send = async (n: number, to: number) => {
        if (killed && to === 2) to = n % 2
        const res = await post(to, '/v1/executions', { repo: `svc-${n % 3}`, branch: 'main', coverage: n % 100 }, token, { 'idempotency-key': `run-${n}` }).catch(() => null)
        if (res?.status === 201) {
          const id = (await res.json()).id
          const earlier = acknowledged.get(`run-${n}`)
          if (earlier !== undefined) expect(id).toBe(earlier)
          acknowledged.set(`run-${n}`, id)
        }
      }
      const work: Promise<void>[] = []
      for (let n = 0; n < 600; n++) {
        work.push(send(n, n % 3), send(n, (n + 1) % 3))
        if (n === 300) {
          servers[2]!.proc.kill('SIGKILL')
          killed = true
        }
        if (n % 50 === 0) await Promise.all(work.splice(0))
      }
      await Promise.all(work)
      // Whatever the dead instance did not answer, a client retry with the same key answers now.
      for (let n = 0; n < 600; n++) if (!acknowledged.has(`run-${n}`)) await send(n, n % 2)
      expect(acknowledged.size).toBe(600)

      const stored = await admin.unsafe('SELECT id FROM executions')
      expect(stored.length).toBe(600)
      const ids = new Set(stored.map((row: { id: string }) => row.id))
      for (const id of acknowledged.values()) expect(ids.has(id)).toBe(true)
      const counters = await admin.unsafe('SELECT r.execution_count AS c, (SELECT count(*) FROM executions e WHERE e.repo_id = r.id)::int AS n FROM repositories r')
      for (const row of counters) expect(row.c).toBe(row.n)
      for (const i of [0, 1]) {
        const list = await (await fetch(`${servers[i]!.base}/v1/executions?org=acme&repo=svc-0`, { headers: { authorization: `Bearer ${token}` } })).json()
        expect(list.total).toBe(200)
      }

      // One Stripe event delivered to both surviving instances, ten times each: applied once.
      const event = stripeEvent('customer.subscription.created', { customer: 'c', status: 'active', metadata: { org_id: session.org_id }, items: { data: [{ price: { id: 'price_team' } }] } })
      const deliveries = await Promise.all(Array.from({ length: 20 }, (_, i) => postStripe(asHttp(servers[i % 2]!.base), event)))
      expect(deliveries.every((r) => r.status === 200)).toBe(true)
      expect(deliveries.filter((r) => r.json.duplicate === true)).toHaveLength(19)
      const changes = await admin.unsafe("SELECT count(*)::int AS n FROM audit_events WHERE action = 'billing.plan_change'")
      expect(changes[0].n).toBe(1)
    } finally {
      for (const { proc } of servers) proc.kill()
      await admin.close()
    }
  }, 120_000)

  test('three instances: a run reaches a stream on another within a second, a revoke on a third ends it, limits and stream caps are shared', async () => {
    const url = urlFor(await freshPostgres())
    const servers = await Promise.all([0, 1, 2].map(() => serve(url, { STREAMS_PER_CREDENTIAL_FREE: '2' })))
    const call = async (i: number, method: string, path: string, token?: string, body?: unknown) => {
      const res = await fetch(servers[i]!.base + path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await res.text()
      return { status: res.status, json: text ? JSON.parse(text) : undefined }
    }
    const follow = async (i: number, token: string) => {
      const res = await fetch(`${servers[i]!.base}/v1/executions/stream?org=acme&repo=svc`, { headers: { authorization: `Bearer ${token}` } })
      const frames: string[] = []
      if (res.status !== 200) return { status: res.status, frames, ended: Promise.resolve(), cancel: async () => {} }
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
      const ended = (async () => {
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
          if (done) return
          frames.push(value!)
        }
      })()
      return { status: res.status, frames, ended, cancel: () => reader.cancel().catch(() => {}) }
    }
    try {
      const session = (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: 'acme' })).json.token
      const token = (await call(1, 'POST', '/v1/tokens', session, { name: 'ci' })).json
      // Stream caps (2 per credential here) count the streams of every process.
      const onA = await follow(0, token.secret)
      const onB = await follow(1, token.secret)
      expect([onA.status, onB.status]).toEqual([200, 200])
      const third = await call(2, 'GET', '/v1/executions/stream?org=acme&repo=svc', token.secret)
      expect([third.status, third.json]).toEqual([429, { error: 'too many open event streams for this credential (2/2)' }])

      // A run recorded on C reaches the streams on A and B within a second (their catch-up poll is 5 s).
      const started = performance.now()
      const run = (await call(2, 'POST', '/v1/executions', token.secret, { repo: 'svc', branch: 'main', coverage: 81 })).json
      const arrived = await within(WITHIN_MS, async () => onA.frames.join('') + '|' + onB.frames.join(''), (text) => text.split(`id: ${run.id}`).length === 3)
      expect(arrived.value.split(`id: ${run.id}`)).toHaveLength(3)
      expect(performance.now() - started).toBeLessThan(WITHIN_MS)

      // Revoked on C: A and B refuse it within a second, and both streams end.
      expect((await call(0, 'POST', '/v1/auth/validate', undefined, { token: token.secret })).status).toBe(200) // cached on A
      expect((await call(2, 'DELETE', `/v1/tokens/${token.id}`, session)).status).toBe(204)
      for (const i of [0, 1]) {
        const refused = await within(WITHIN_MS, () => call(i, 'POST', '/v1/auth/validate', undefined, { token: token.secret }), (r) => r.status === 401)
        expect(refused.value.status).toBe(401)
      }
      const ends = Promise.all([onA.ended, onB.ended]).then(() => 'ended')
      expect(await Promise.race([ends, Bun.sleep(WITHIN_MS).then(() => 'still open')])).toBe('ended')

      // Rate limits: a session's 60 a minute, spread over three processes, is granted once (+10 % at most).
      const statuses = await Promise.all(Array.from({ length: 150 }, (_, i) => call(i % 3, 'GET', '/v1/repos', session).then((r) => r.status)))
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([])
      const granted = statuses.filter((s) => s === 200).length
      expect(granted).toBeGreaterThanOrEqual(55) // the session spent some of its allowance above
      expect(granted).toBeLessThanOrEqual(66)
    } finally {
      for (const { proc } of servers) proc.kill()
    }
  }, 60_000)

  test('the retention duty is held by one instance at a time and passes on when its holder goes away', async () => {
    const [a, b] = await sharedDatabases(2)
    expect(await a!.lead!('retention')).toBe(true)
    expect(await b!.lead!('retention')).toBe(false)
    expect(await a!.lead!('retention')).toBe(true)
    await a!.close() // the holder dies: its connection, and the lock with it, go away
    // The server lets go of the lock once it has seen the connection close: a moment, so B asks a few times.
    let taken = false
    for (let i = 0; i < 50 && !taken; i++) taken = (await b!.lead!('retention')) || (await Bun.sleep(50), false)
    expect(taken).toBe(true)
    await b!.close()
  }, 20_000)
})
