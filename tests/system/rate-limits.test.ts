import { describe, expect, test } from 'bun:test'
import { createRateLimiter, databaseStore } from '../../src/http/rate-limit'
import { redisStore } from '../../src/http/rate-limit-redis'
import { syncedTake } from '../../src/http/rate-limit-sync'
import { memoryLogger } from '../../src/lib/logger'
import { connectedRedis, onRedis, redisPrefix } from '../helpers/redis'
import { manualClock } from '../../src/lib/clock'
import { makeTestApp, type TestApp } from '../helpers/app'
import { testDatabase } from '../helpers/db'
import { orgWithToken } from '../helpers/fixtures'

const DAY = 86_400_000

// The same GCRA in every store: one instance on the `database` store's batched upsert or the `redis` store's
// batched script, deciding locally between syncs, must decide exactly as the memory one (redis when
// TEST_REDIS_URL names a server).
const stores = ['memory', 'database', ...(onRedis ? ['redis' as const] : [])] as const
describe.each(stores)('rate limiter (GCRA, %s store) with an injected clock', (store) => {
  const limiterFor = (clock: ReturnType<typeof manualClock>) => {
    if (store === 'memory') return createRateLimiter(clock)
    if (store === 'database') return createRateLimiter(clock, undefined, syncedTake(databaseStore(testDatabase()), clock, 50))
    const redisBacked = connectedRedis().then((client) => syncedTake(redisStore(client, clock, memoryLogger(), redisPrefix()), clock, 50))
    return { take: async (key: string, limit: number) => (await redisBacked).take(key, limit) }
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
