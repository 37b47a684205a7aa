import { describe, expect, test } from 'bun:test'
import { SERVICE_TOKEN } from '../helpers/app'
import { freshPostgres, onPostgres, urlFor } from '../helpers/db'
import { freePort, ROOT } from '../helpers/process'
import { onRedis, redisPrefix, TEST_REDIS_URL } from '../helpers/redis'

/*
 * The bound of shared limits (http/rate-limit-sync.ts), measured across three real server processes: each
 * decides locally and syncs with the store every RATE_LIMIT_SYNC_MS, so N instances grant at most the
 * limit + (N - 1) × q, q = ⌈sync interval / request interval⌉, plus what the limit earns while the test runs.
 * The sync interval is raised to 250 ms here so that q = 3 at 600 a minute and the bound is not trivially 1.
 */
const N = 3
const LIMIT = 600
const SYNC_MS = 250
const INTERVAL_MS = 60_000 / LIMIT
const Q = Math.ceil(SYNC_MS / INTERVAL_MS)

async function serve(env: Record<string, string>) {
  const port = await freePort()
  const proc = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', SERVICE_TOKEN, LOG_LEVEL: 'error', DATABASE_POOL_SIZE: '4', ...env },
    stdout: 'ignore',
    stderr: 'ignore',
  })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 200 && !(await fetch(`${base}/health`).then((r) => r.ok, () => false)); i++) await Bun.sleep(50)
  return { proc, base }
}

const stores = [...(onPostgres ? (['database'] as const) : []), ...(onPostgres && onRedis ? (['redis'] as const) : [])]

describe.skipIf(stores.length === 0).each(stores)('shared limits over three processes (%s store)', (store) => {
  test(`one address's burst over ${N} instances gets the limit + at most (N - 1) × q more`, async () => {
    const url = urlFor(await freshPostgres())
    const env = {
      DATABASE_URL: url,
      RATE_LIMIT_STORE: store,
      RATE_LIMIT_ADDRESS_PER_MINUTE: String(LIMIT),
      RATE_LIMIT_SYNC_MS: String(SYNC_MS),
      ...(store === 'redis' ? { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: redisPrefix() } : {}),
    }
    const servers = await Promise.all(Array.from({ length: N }, () => serve(env)))
    try {
      const statuses: number[] = []
      const started = performance.now()
      // Twice the allowance, 16 at a time per instance, round robin.
      let sent = 0
      await Promise.all(
        Array.from({ length: N * 16 }, async (_, lane) => {
          while (sent < 2 * LIMIT) {
            sent++
            const res = await fetch(`${servers[lane % N]!.base}/v1/auth/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"token":"nlp_x"}' })
            statuses.push(res.status)
            await res.arrayBuffer()
          }
        }),
      )
      const elapsed = performance.now() - started
      expect(statuses.filter((s) => s !== 401 && s !== 429)).toEqual([])
      const granted = statuses.filter((s) => s === 401).length
      const earned = Math.ceil(elapsed / INTERVAL_MS) + 1
      const bound = (N - 1) * Q
      console.log(`${store}: ${granted} granted of ${statuses.length} in ${elapsed.toFixed(0)} ms: ${granted - LIMIT - earned + 1} over one exact limiter (bound ${bound})`)
      expect(granted).toBeGreaterThanOrEqual(LIMIT)
      expect(granted).toBeLessThanOrEqual(LIMIT + bound + earned)
    } finally {
      for (const { proc } of servers) proc.kill('SIGKILL')
    }
  }, 60_000)
})
