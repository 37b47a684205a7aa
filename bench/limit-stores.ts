/**
 * `BENCH_DATABASE_URL=postgres://… BENCH_REDIS_URL=redis://… bun bench/limit-stores.ts`: what each
 * rate-limit store costs. One instance on the PostgreSQL seed (bench/seed-pg.ts), validate and list under wrk
 * with RATE_LIMIT_STORE = memory, database and redis in alternating rounds; then, in this process, the
 * latency of one decision alone (sequential) and the throughput of decisions in flight together.
 */
import { join } from 'node:path'
import { cpus } from 'node:os'
import { SQL } from 'bun'
import { seed } from './seed'
import { hotRoutes } from './wrk-routes'
import { seedPostgres } from './seed-pg'
import { createRateLimiter, databaseStore } from '../src/http/rate-limit'
import { redisClient, redisStore } from '../src/http/rate-limit-redis'
import { syncedTake } from '../src/http/rate-limit-sync'
import { postgresDb } from '../src/db/postgres'
import { systemClock } from '../src/lib/clock'

const PG = Bun.env.BENCH_DATABASE_URL
const REDIS = Bun.env.BENCH_REDIS_URL
if (!PG || !REDIS) throw new Error('set BENCH_DATABASE_URL=postgres://… and BENCH_REDIS_URL=redis://…')
const SECONDS = Number(Bun.env.BENCH_SECONDS ?? 5)
const ROUNDS = Number(Bun.env.BENCH_ROUNDS ?? 2)
const ROOT = join(import.meta.dir, '..')
const credentials = await seed()
await seedPostgres(PG, credentials)

// Validate and the list: the routes a rate-limit store's cost shows on (ingest is bound by its commit).
const routes = hotRoutes(credentials, 'stores').filter((route) => route.name !== 'ingest')
const stores = ['memory', 'database', 'redis'] as const

async function rps(store: string, route: (typeof routes)[number]): Promise<number> {
  const port = 19_400
  const server = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: PG!, REDIS_URL: REDIS!, RATE_LIMIT_STORE: store, PORT: String(port), HOST: '127.0.0.1', RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000', RATE_LIMIT_ADDRESS_PER_MINUTE: '10000000', LOG_LEVEL: 'error' },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  for (let i = 0; i < 200 && !(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)); i++) await Bun.sleep(50)
  const wrk = Bun.spawn(['wrk', '-t1', '-c32', `-d${SECONDS}s`, '-s', route.script, `http://127.0.0.1:${port}${route.path}`], { stdout: 'pipe' })
  const out = await new Response(wrk.stdout).text()
  server.kill()
  await server.exited
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)
}

const results = new Map<string, number[]>()
for (let round = 0; round < ROUNDS; round++)
  for (const route of routes)
    for (const store of round % 2 ? [...stores].reverse() : stores) {
      const key = `${store} ${route.name}`
      results.set(key, [...(results.get(key) ?? []), await rps(store, route)])
    }

// One decision at a time (latency) and 32 in flight (throughput), straight at each store.
const pool = new SQL(PG, { max: 10 })
const redis = redisClient(REDIS)
await redis.connect()
const takes = {
  memory: createRateLimiter(systemClock).take,
  database: syncedTake(databaseStore(postgresDb(pool, 'bench')), systemClock, 50).take,
  redis: syncedTake(redisStore(redis, systemClock, console, `bench:${crypto.randomUUID()}:`), systemClock, 50).take,
}
const micro: string[] = []
for (const store of stores) {
  const take = takes[store]
  for (let i = 0; i < 500; i++) await take(`warm-${i % 50}`, 10_000_000)
  const n = 5000
  let started = performance.now()
  for (let i = 0; i < n; i++) await take(`k-${i % 500}`, 10_000_000)
  const serial = ((performance.now() - started) * 1000) / n
  started = performance.now()
  for (let done = 0; done < n * 4; done += 32) await Promise.all(Array.from({ length: 32 }, (_, i) => take(`k-${(done + i) % 500}`, 10_000_000)))
  const perSecond = (n * 4) / ((performance.now() - started) / 1000)
  micro.push(`| \`${store}\` | ${serial.toFixed(1)} µs | ${Math.round(perSecond).toLocaleString('en')} |`)
}
await pool.close()
redis.close()

console.log(`${cpus().length} × ${cpus()[0]?.model}; Bun ${Bun.version}; wrk -t1 -c32, ${SECONDS} s, ${ROUNDS} rounds alternating; ${new Date().toISOString().slice(0, 10)}\n`)
console.log('| `RATE_LIMIT_STORE` | validate req/s | list req/s |\n|---|---:|---:|')
for (const store of stores)
  console.log(`| \`${store}\` | ${routes.map((r) => results.get(`${store} ${r.name}`)!.map((v) => Math.round(v).toLocaleString('en')).join(' / ')).join(' | ')} |`)
console.log('\n| store | one decision alone | decisions/s, 32 in flight |\n|---|---:|---:|\n' + micro.join('\n'))
