import { describe, expect, test } from 'bun:test'
import { createRateLimiter, databaseTake } from '../src/http/rate-limit'
import { redisTake } from '../src/http/rate-limit-redis'
import { memoryLogger } from '../src/lib/logger'
import { connectedRedis, onRedis, redisPrefix } from './helpers/redis'
import { manualClock } from '../src/lib/clock'
import { sweepRetention } from '../src/modules/retention/service'
import { makeTestApp, type TestApp } from './helpers/app'
import { testDatabase } from './helpers/db'
import { createToken, orgWithToken, setPlan, signIn, submit } from './helpers/fixtures'
import { BILLING_ENV, postStripe, stripeEvent } from './helpers/webhooks'

const DAY = 86_400_000

describe('GET /v1/analytics', () => {
  test('free plan: 402 naming the plan needed', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const res = await t.request('GET', '/v1/analytics', { token: session })
    expect([res.status, res.json]).toEqual([402, { error: 'analytics requires the team or enterprise plan' }])
  })

  test('sessions only: an API token gets 403', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t, 'acme', { plan: 'team' })
    expect((await t.request('GET', '/v1/analytics', { token })).status).toBe(403)
  })

  test('empty data: zero totals, one zero row per day, no repos or agents', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t, 'acme', { plan: 'team' })
    const res = await t.request('GET', '/v1/analytics?days=3', { token: session })
    expect(res.status).toBe(200)
    expect(res.json).toEqual({
      window: { from: '2026-03-16T00:00:00Z', to: '2026-03-18T09:00:00Z', days: 3 },
      totals: { executions: 0, pass: 0, warn: 0, fail: 0, repos: 0 },
      repos: [],
      daily: ['2026-03-16', '2026-03-17', '2026-03-18'].map((date) => ({ date, executions: 0, pass: 0, warn: 0, fail: 0, avg_coverage: null })),
      agents: [],
    })
  })

  test('numbers on a known data set match hand-computed expectations', async () => {
    const t = makeTestApp()
    const { session, token } = await orgWithToken(t, 'acme', { plan: 'team', agent_type: 'cursor' })
    const claude = await createToken(t, session, { name: 'claude', agent_type: 'claude_code' })
    const start = t.clock.now() // 2026-03-18T09:00:00Z
    // outside the 2-day window (3 days ago): must not count
    t.clock.set(start - 3 * DAY)
    await submit(t, token, { repo: 'api', coverage: 10, delta: -5 })
    // yesterday: api 70 (pass), api 72 (fail, claude), web 50 (warn)
    t.clock.set(start - DAY)
    await submit(t, token, { repo: 'api', coverage: 70, delta: 0 })
    t.clock.advance(1000)
    await submit(t, claude.secret, { repo: 'api', coverage: 72, delta: -2 })
    t.clock.advance(1000)
    await submit(t, token, { repo: 'web', coverage: 50, delta: -0.7 })
    // today: api 75.5 (pass, claude)
    t.clock.set(start)
    await submit(t, claude.secret, { repo: 'api', coverage: 75.5, delta: 1 })
    const res = await t.request('GET', '/v1/analytics?days=2', { token: session })
    expect(res.json).toEqual({
      window: { from: '2026-03-17T00:00:00Z', to: '2026-03-18T09:00:00Z', days: 2 },
      totals: { executions: 4, pass: 2, warn: 1, fail: 1, repos: 2 },
      repos: [
        { repo: 'api', latest_coverage: 75.5, coverage_change: 5.5, executions: 3, fail_rate: 0.3333 },
        { repo: 'web', latest_coverage: 50, coverage_change: 0, executions: 1, fail_rate: 0 },
      ],
      daily: [
        { date: '2026-03-17', executions: 3, pass: 1, warn: 1, fail: 1, avg_coverage: 64 },
        { date: '2026-03-18', executions: 1, pass: 1, warn: 0, fail: 0, avg_coverage: 75.5 },
      ],
      agents: [
        { agent_type: 'claude_code', executions: 2, fail_rate: 0.5 },
        { agent_type: 'cursor', executions: 2, fail_rate: 0 },
      ],
    })
    const api = await t.request('GET', '/v1/analytics?days=2&repo=api', { token: session })
    expect(api.json.totals).toEqual({ executions: 3, pass: 2, warn: 0, fail: 1, repos: 1 })
    const unknown = await t.request('GET', '/v1/analytics?days=2&repo=nope', { token: session })
    expect(unknown.json.totals.executions).toBe(0)
    const week = await t.request('GET', '/v1/analytics', { token: session })
    expect(week.json.window.days).toBe(30)
    expect(week.json.totals.executions).toBe(5)
  })

  test('the daily rollups always equal a recomputation from the executions, through inserts and retention', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t, 'acme', { plan: 'team', agent_type: 'cursor' })
    const claude = await createToken(t, session, { name: 'claude', agent_type: 'claude_code' })
    const snapshot = () => t.db.all<any>('SELECT org_id, day, repo_id, agent_type, executions, pass, warn, fail, round(CAST(coverage_sum AS NUMERIC), 6) AS s FROM daily_rollups ORDER BY 1, 2, 3, 4')
    const count = (outcome: string) => `sum(CASE WHEN outcome = '${outcome}' THEN 1 ELSE 0 END) AS ${outcome}`
    const recomputed = () =>
      t.db.all<any>(`SELECT org_id, created_at / ${DAY} AS day, repo_id, agent_type, count(*) AS executions, ${count('pass')}, ${count('warn')}, ${count('fail')}, round(CAST(sum(coverage) AS NUMERIC), 6) AS s FROM executions GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
    for (let i = 0; i < 120; i++) {
      t.clock.advance(DAY)
      await Promise.all([submit(t, token, { repo: `r${i % 3}`, coverage: i % 100, delta: -(i % 3) }), submit(t, claude.secret, { repo: 'r0', coverage: 50.25 })])
    }
    expect(await snapshot()).toEqual(await recomputed())
    const swept = await sweepRetention(t.db, t.clock.now(), 7)
    expect(swept.executions).toBe(2 * 29) // two runs on each of days 1-120; the team plan keeps those newer than day 30

    expect(await snapshot()).toEqual(await recomputed())
    const fresh = await signIn(t, 'acme') // the first session expired during the 120 simulated days
    const report = (await t.request('GET', '/v1/analytics?days=365', { token: fresh.session })).json
    expect(report.totals.executions).toBe(((await t.db.get<any>('SELECT count(*) AS n FROM executions')) as any).n)
  })

  test.each(['0', '366', 'x'])('days=%p answers 400', async (days) => {
    const t = makeTestApp()
    const { session } = await signIn(t, 'acme', { plan: 'enterprise' })
    const res = await t.request('GET', `/v1/analytics?days=${days}`, { token: session })
    expect([res.status, res.json]).toEqual([400, { error: 'invalid query: days must be an integer from 1 to 365' }])
  })
})

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

// The same GCRA in every store: the `database` store's one upsert and the `redis` store's one script must
// decide exactly as the memory one (redis when TEST_REDIS_URL names a server).
const stores = ['memory', 'database', ...(onRedis ? ['redis' as const] : [])] as const
describe.each(stores)('rate limiter (GCRA, %s store) with an injected clock', (store) => {
  const limiterFor = (clock: ReturnType<typeof manualClock>) => {
    if (store === 'memory') return createRateLimiter(clock)
    if (store === 'database') return createRateLimiter(clock, undefined, databaseTake(testDatabase(), clock))
    const take = connectedRedis().then((client) => redisTake(client, clock, memoryLogger(), redisPrefix()))
    return createRateLimiter(clock, undefined, async (key, limit) => (await take)(key, limit))
  }
  test('exactly the limit at once, then one per interval; no second burst across a minute edge', async () => {
    const clock = manualClock(0)
    const limiter = limiterFor(clock)
    for (let i = 0; i < 60; i++) expect((await limiter.take('k', 60)).allowed).toBe(true)
    const refused = (await limiter.take('k', 60))
    expect(refused).toEqual({ allowed: false, headers: { 'ratelimit-limit': '60', 'ratelimit-remaining': '0', 'ratelimit-reset': '60', 'retry-after': '1' } })
    clock.advance(999)
    expect((await limiter.take('k', 60)).allowed).toBe(false)
    clock.advance(1)
    expect((await limiter.take('k', 60)).allowed).toBe(true)
    expect((await limiter.take('k', 60)).allowed).toBe(false)
    // Across the minute boundary: a fixed window would grant 60 more here; GCRA grants what was earned.
    clock.set(60_000)
    let granted = 0
    while ((await limiter.take('k', 60)).allowed) granted++
    expect(granted).toBe(59)
  })

  test('headers count down and reset is the time to a full allowance', async () => {
    const clock = manualClock(0)
    const limiter = limiterFor(clock)
    expect((await limiter.take('k', 60)).headers).toEqual({ 'ratelimit-limit': '60', 'ratelimit-remaining': '59', 'ratelimit-reset': '1' })
    expect((await limiter.take('k', 60)).headers).toEqual({ 'ratelimit-limit': '60', 'ratelimit-remaining': '58', 'ratelimit-reset': '2' })
    clock.advance(2000)
    expect((await limiter.take('k', 60)).headers['ratelimit-remaining']).toBe('59')
    expect((await limiter.take('other', 600)).headers).toEqual({ 'ratelimit-limit': '600', 'ratelimit-remaining': '599', 'ratelimit-reset': '1' })
  })

})

describe('rate limiter (GCRA, memory store)', () => {
  test('memory stays bounded however many distinct clients appear', () => {
    const clock = manualClock(0)
    const limiter = createRateLimiter(clock)
    for (let i = 0; i < 100_500; i++) limiter.take(`client-${i}`, 60)
    expect(limiter.size()).toBeLessThanOrEqual(100_000)
    clock.advance(61_000)
    limiter.take('late', 60)
    for (let i = 0; i < 10; i++) limiter.take(`more-${i}`, 60)
    expect(limiter.size()).toBeLessThanOrEqual(100_000)
  })
})

describe('rate limits over HTTP', () => {
  async function exhaust(t: TestApp, request: () => Promise<{ status: number; headers: Headers; json: any }>, limit: number) {
    for (let i = 0; i < limit; i++) {
      const res = await request()
      expect(res.status).not.toBe(429)
      expect(res.headers.get('ratelimit-limit')).toBe(String(limit))
      expect(res.headers.get('ratelimit-remaining')).toBe(String(limit - 1 - i))
    }
    return request()
  }

  test('free plan: the 61st request in a minute answers 429 with Retry-After and RateLimit headers', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t, 'acme', { plan: 'free' })
    const res = await exhaust(t, () => t.request('GET', '/v1/executions?org=acme&repo=r', { token }), 60)
    expect(res.status).toBe(429)
    expect(res.json).toEqual({ error: 'rate limit exceeded' })
    expect(res.headers.get('retry-after')).toBe('1')
    expect(res.headers.get('ratelimit-remaining')).toBe('0')
    expect(res.headers.get('ratelimit-limit')).toBe('60')
    t.clock.advance(1000)
    expect((await t.request('GET', '/v1/executions?org=acme&repo=r', { token })).status).toBe(200)
  })

  test('limits follow the plan: team 600, enterprise RATE_LIMIT_ENTERPRISE_PER_MINUTE', async () => {
    const t = makeTestApp({ RATE_LIMIT_ENTERPRISE_PER_MINUTE: '7' })
    const team = await orgWithToken(t, 'team-org', { plan: 'team' })
    expect((await t.request('GET', '/v1/repos', { token: team.token })).headers.get('ratelimit-limit')).toBe('600')
    const ent = await orgWithToken(t, 'ent-org', { plan: 'enterprise' })
    expect((await exhaust(t, () => t.request('GET', '/v1/repos', { token: ent.token }), 7)).status).toBe(429)
  })

  test('each credential has its own allowance', async () => {
    const t = makeTestApp({ RATE_LIMIT_ENTERPRISE_PER_MINUTE: '3' })
    const { token, session } = await orgWithToken(t, 'acme', { plan: 'enterprise' })
    for (let i = 0; i < 3; i++) await t.request('GET', '/v1/repos', { token })
    expect((await t.request('GET', '/v1/repos', { token })).status).toBe(429)
    expect((await t.request('GET', '/v1/repos', { token: session })).status).toBe(200)
  })

  test('POST /v1/auth/validate is limited per client address', async () => {
    const t = makeTestApp({ RATE_LIMIT_ADDRESS_PER_MINUTE: '5', TRUST_PROXY: 'true' })
    const from = (ip: string) => t.request('POST', '/v1/auth/validate', { body: { token: 'nlp_x' }, headers: { 'x-forwarded-for': ip } })
    const res = await exhaust(t, () => from('203.0.113.7'), 5)
    expect([res.status, res.json]).toEqual([429, { error: 'rate limit exceeded' }])
    expect((await from('198.51.100.1')).status).toBe(401)
  })

  test('refused credentials are limited per address, so a flood cannot write unbounded audit rows', async () => {
    const t = makeTestApp({ RATE_LIMIT_ADDRESS_PER_MINUTE: '3', TRUST_PROXY: 'true' })
    const attempt = (path: string, ip = '203.0.113.9') => t.request('GET', path, { token: 'nlp_' + '0'.repeat(40), headers: { 'x-forwarded-for': ip } })
    for (let i = 0; i < 3; i++) expect((await attempt('/v1/repos')).status).toBe(401)
    const flooded = await attempt('/v1/tokens')
    expect([flooded.status, flooded.json]).toEqual([429, { error: 'rate limit exceeded' }])
    expect(flooded.headers.get('retry-after')).toBe('20')
    const denied = await t.request('POST', '/v1/sessions/create', { token: 'wrong', body: { user_id: 'u', org_slug: 'x' }, headers: { 'x-forwarded-for': '203.0.113.9' } })
    expect(denied.status).toBe(429)
    expect((await t.db.get<any>("SELECT count(*) AS n FROM audit_events WHERE action IN ('auth.denied', 'session.create.denied')"))).toEqual({ n: 3 })
    expect((await attempt('/v1/repos', '198.51.100.2')).status).toBe(401)
  })

  test('/health, badges and trend graphs are not limited', async () => {
    const t = makeTestApp({ RATE_LIMIT_ADDRESS_PER_MINUTE: '1' })
    for (let i = 0; i < 70; i++) {
      for (const path of ['/health', '/v1/badge/acme/r', '/v1/trend/acme/r']) {
        const res = await t.request('GET', path)
        expect(res.status).toBe(200)
        expect(res.headers.get('ratelimit-limit')).toBeNull()
      }
    }
  })
})

describe('GET /metrics', () => {
  test('Prometheus text with requests by route and status, latency, ingestions, validations, cache, webhooks, rejections', async () => {
    const t = makeTestApp({ ...BILLING_ENV, RATE_LIMIT_ENTERPRISE_PER_MINUTE: '2' })
    const { token } = await orgWithToken(t, 'acme', { plan: 'enterprise' })
    await submit(t, token, {})
    await t.request('POST', '/v1/auth/validate', { body: { token } })
    await t.request('POST', '/v1/auth/validate', { body: { token: 'nlp_' + '0'.repeat(40) } })
    await t.request('GET', '/v1/repos', { token })
    expect((await t.request('GET', '/v1/repos', { token })).status).toBe(429)
    await postStripe(t, stripeEvent('invoice.paid', {}))
    await postStripe(t, stripeEvent('invoice.paid', {}), { secret: 'whsec_bad' })
    await new Promise((resolve) => setImmediate(resolve))
    const res = await t.request('GET', '/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
    const text = res.text
    expect(text).toContain('nolapse_http_requests_total{method="POST",route="/v1/executions",status="201"} 1')
    expect(text).toContain('nolapse_http_request_duration_seconds_bucket{le="0.0005",method="GET",route="/v1/repos"}')
    expect(text).toContain('nolapse_executions_ingested_total 1')
    expect(text).toMatch(/nolapse_token_validations_total\{result="valid"\} \d+/)
    expect(text).toContain('nolapse_token_validations_total{result="invalid"} 1')
    expect(text).toMatch(/nolapse_token_cache_total\{result="hit"\} \d+/)
    expect(text).toMatch(/nolapse_token_cache_total\{result="miss"\} \d+/)
    expect(text).toContain('nolapse_webhook_events_total{provider="stripe",result="ignored"} 1')
    expect(text).toContain('nolapse_webhook_events_total{provider="stripe",result="invalid_signature"} 1')
    expect(text).toContain('nolapse_rate_limit_rejections_total{kind="credential"} 1')
    // every sample line is valid exposition: name{labels} value
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?(\d+(\.\d+)?(e[+-]?\d+)?|NaN|\+Inf|-Inf)$/)
    for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE'))) expect(line).toMatch(/^# TYPE \S+ (counter|gauge|histogram|summary)$/)
  })

  test('with METRICS_TOKEN set, /metrics requires it', async () => {
    const t = makeTestApp({ METRICS_TOKEN: 'metrics-secret' })
    expect((await t.request('GET', '/metrics')).status).toBe(401)
    expect((await t.request('GET', '/metrics', { token: 'wrong' })).status).toBe(401)
    expect((await t.request('GET', '/metrics', { token: 'metrics-secret' })).status).toBe(200)
  })
})
