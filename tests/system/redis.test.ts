import { describe, expect, test } from 'bun:test'
import { loadConfig } from '../../src/config'
import { createApp } from '../../src/app'
import { memoryLogger } from '../../src/lib/logger'
import { makeTestApp, SERVICE_TOKEN } from '../helpers/app'
import { sharedDatabases } from '../helpers/db'
import { freePort, runToExit } from '../helpers/process'
import { connectedRedis, onRedis, redisPrefix, TEST_REDIS_URL } from '../helpers/redis'

/*
 * The `redis` rate-limit store (REDIS_URL): limits shared by every instance, decided locally and synced
 * by one Lua script per batch; Redis away means 503, never 500 and never "no limit"; an unreachable Redis stops start-up.
 * The shared-limit tests run where TEST_REDIS_URL names a server (`.ci/run` starts one); the fault test
 * starts a redis-server of its own, so stopping it disturbs nothing else.
 */
const PASSWORD = 'r3dis-secret-do-not-print'
const redisServer = Bun.which('redis-server')

/** A test app whose rate limits live in Redis under a prefix of its own (`prefix` shared = one deployment). */
async function appOnRedis(url: string, prefix: string, env: Record<string, string> = {}) {
  return makeTestApp({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix, ...env }, { redis: await connectedRedis(url) })
}

describe.skipIf(!onRedis)('rate limits in Redis', () => {
  test('two instances on one Redis grant an address its limit once, plus at most (N - 1) × q', async () => {
    const prefix = redisPrefix()
    const [a, b] = [await appOnRedis(TEST_REDIS_URL, prefix, { RATE_LIMIT_ADDRESS_PER_MINUTE: '20' }), await appOnRedis(TEST_REDIS_URL, prefix, { RATE_LIMIT_ADDRESS_PER_MINUTE: '20' })]
    const first = await a!.request('GET', '/swagger/json')
    expect([first.status, first.headers.get('ratelimit-remaining')]).toEqual([200, '19'])
    await Bun.sleep(120) // A's grant reached its quota (q = 1 at 20 a minute) and was pushed at once
    const second = await a!.request('GET', '/swagger/json')
    expect([second.status, second.headers.get('ratelimit-remaining')]).toEqual([200, '18'])
    // 40 more, alternately to A and B, at one instant of the (manual) clock: 18 are left to grant, wherever
    // they land; B decides its first on a view that has not seen A's grants, so one more at most (N = 2, q = 1).
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? b! : a!).request('GET', '/swagger/json').then((r) => r.status)))
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([])
    const granted = statuses.filter((s) => s === 200).length
    expect(granted).toBeGreaterThanOrEqual(18)
    expect(granted).toBeLessThanOrEqual(19)
    await Bun.sleep(120)
    const refused = await b!.request('GET', '/swagger/json')
    expect([refused.status, refused.json, refused.headers.get('ratelimit-remaining')]).toEqual([429, { error: 'rate limit exceeded' }, '0'])
    // What was granted beyond is charged all the same: the key waits 3 s more per request over the allowance
    // (B's view may not have read the last of A's grants yet: it is refused either way).
    const over = 2 + granted - 20
    expect(['3', String(3 * (over + 1))]).toContain(refused.headers.get('retry-after')!)
    // Redis holds the key only while it limits: it expires when the allowance is whole again (a minute here).
    const redis = await connectedRedis(TEST_REDIS_URL)
    const ttl = Number(await redis.send('PTTL', [`${prefix}a:unknown`]))
    redis.close()
    expect(ttl).toBeGreaterThan(0)
    expect(ttl).toBeLessThanOrEqual(60_000 + 3000 * over)
    // Another deployment on the same Redis (another prefix) has an allowance of its own.
    const other = await appOnRedis(TEST_REDIS_URL, redisPrefix(), { RATE_LIMIT_ADDRESS_PER_MINUTE: '20' })
    expect((await other.request('GET', '/swagger/json')).headers.get('ratelimit-remaining')).toBe('19')
  })

  test('a credential spread over two instances on one database gets its limit once', async () => {
    const prefix = redisPrefix()
    const config = loadConfig({ DATABASE_URL: ':memory:', SERVICE_TOKEN, REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix })
    const dbs = await sharedDatabases(2)
    const apps = await Promise.all(dbs.map(async (db) => createApp({ config, db, logger: memoryLogger(), redis: await connectedRedis() })))
    const call = async (i: number, method: string, path: string, token: string, body?: unknown) => {
      const res = await apps[i]!.handle(
        new Request(`http://localhost${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }),
      )
      return { status: res.status, json: await res.json() }
    }
    const session = (await call(0, 'POST', '/v1/sessions/create', SERVICE_TOKEN, { user_id: 'u', org_slug: 'acme' })).json.token
    // Free plan: 60 a minute. 100 requests alternately to A and B: each alone would have granted 50 + 50.
    const statuses = await Promise.all(Array.from({ length: 100 }, (_, i) => call(i % 2, 'GET', '/v1/repos', session).then((r) => r.status)))
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([])
    const granted = statuses.filter((s) => s === 200).length
    expect(granted).toBeGreaterThanOrEqual(60)
    expect(granted).toBeLessThanOrEqual(66) // the limit + 10 % (the real clock moves: one request a second is earned back)
    for (const app of apps) await app.stop()
    for (const db of dbs) await db.close()
  }, 20_000)
})

describe.skipIf(!redisServer)('Redis going away under a running server', () => {
  test('503 "rate limit store unavailable" with Retry-After while it is down or hung, never 500 or unlimited; it recovers by itself', async () => {
    const port = await freePort()
    const start = () => Bun.spawn([redisServer!, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore', stderr: 'ignore' })
    let server = start()
    const url = `redis://127.0.0.1:${port}`
    for (let i = 0; i < 50; i++) if (await connectedRedis(url).then((c) => (c.close(), true), () => false)) break; else await Bun.sleep(100)
    const t = await appOnRedis(url, redisPrefix())
    try {
      expect((await t.request('GET', '/swagger/json')).status).toBe(200)
      const down = async () => {
        const res = await t.request('GET', '/swagger/json')
        expect([res.status, res.json, res.headers.get('retry-after')]).toEqual([503, { error: 'rate limit store unavailable' }, '5'])
      }
      await Bun.sleep(120) // that grant is synced
      // Hung (SIGSTOP): the sync times out and requests are refused instead of waiting; one (q = 1 at the
      // default 600 a minute) may be granted on the local view before the store is known to be away.
      server.kill('SIGSTOP')
      expect([200, 503]).toContain((await t.request('GET', '/swagger/json')).status)
      await down()
      server.kill('SIGCONT')
      let status = 0
      for (let i = 0; i < 100 && status !== 200; i++) status = (await t.request('GET', '/swagger/json')).status || (await Bun.sleep(50), 0)
      expect(status).toBe(200)
      // Gone (SIGKILL), then back on the same port: the client reconnects without a restart of the server.
      await Bun.sleep(120)
      server.kill('SIGKILL')
      await server.exited
      expect([200, 503]).toContain((await t.request('GET', '/swagger/json')).status)
      for (let i = 0; i < 5; i++) await down()
      server = start()
      status = 0
      for (let i = 0; i < 200 && status !== 200; i++) {
        status = (await t.request('GET', '/swagger/json')).status
        if (status !== 200) {
          expect(status).toBe(503)
          await Bun.sleep(50)
        }
      }
      expect(status).toBe(200)
      // However many requests were refused, a warning at most once a second (the manual clock stood still: one).
      expect(t.logger.lines.filter((line) => line.includes('rate limit store unavailable'))).toHaveLength(1)
    } finally {
      server.kill('SIGKILL')
    }
  }, 60_000)
})

describe('Redis at start-up and in the configuration', () => {
  test('an unreachable Redis stops start-up: one line on stderr, exit 1, never the password', async () => {
    const { code, out, err } = await runToExit({ DATABASE_URL: ':memory:', REDIS_URL: `redis://default:${PASSWORD}@127.0.0.1:${await freePort()}/0` })
    expect(code).toBe(1)
    expect(out).toBe('')
    expect(err.trim().split('\n')).toHaveLength(1)
    expect(err).toStartWith('nolapse-platform: cannot reach Redis at redis://default@127.0.0.1:')
    expect(err).not.toContain(PASSWORD)
  }, 20_000)

  test('RATE_LIMIT_STORE=redis needs REDIS_URL; a REDIS_URL of another scheme is refused without echoing it', () => {
    expect(() => loadConfig({ RATE_LIMIT_STORE: 'redis' })).toThrow('RATE_LIMIT_STORE=redis needs REDIS_URL')
    expect(() => loadConfig({ REDIS_URL: `http://u:${PASSWORD}@host` })).toThrow('REDIS_URL must be a redis://, rediss://, valkey:// or valkeys:// URL')
    expect(() => loadConfig({ REDIS_URL: 'redis://h', REDIS_KEY_PREFIX: 'has space' })).toThrow('REDIS_KEY_PREFIX must be 1-64 printable ASCII characters')
    expect(loadConfig({ REDIS_URL: 'rediss://h:6380' })).toMatchObject({ redisUrl: 'rediss://h:6380', redisKeyPrefix: 'nolapse:rl:' })
  })
})
