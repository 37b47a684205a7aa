import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SQL } from 'bun'
import { onPostgres, TEST_DATABASE_URL } from '../helpers/db'
import { freePort, ROOT, runToExit } from '../helpers/process'

/*
 * PostgreSQL going away under a running server, and a server started against a PostgreSQL it cannot use.
 * These run in the PostgreSQL pass of the suite (TEST_DATABASE_URL set); the restart test starts a cluster
 * of its own with scripts/pg.sh, so stopping it disturbs no other test.
 */
const PG = join(ROOT, 'scripts', 'pg.sh')
const PASSWORD = 's3cret-do-not-print'

async function sh(...args: string[]) {
  const proc = Bun.spawn(args, { stdout: 'pipe', stderr: 'pipe' })
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
  if (code !== 0) throw new Error(`${args.join(' ')}: ${err}`)
}

/** Starts the real server (`bun src/index.ts`) and resolves once it listens. */
async function startServer(env: Record<string, string>) {
  const port = await freePort()
  const proc = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', SERVICE_TOKEN: 'svc-token-0123456789', LOG_LEVEL: 'warn', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${base}/health`).then(() => true, () => false)) return { proc, base }
    await Bun.sleep(100)
  }
  proc.kill()
  throw new Error(`server did not start: ${await new Response(proc.stderr).text()}`)
}

describe.skipIf(!onPostgres)('PostgreSQL at start-up', () => {
  const refused = (url: string) => runToExit({ DATABASE_URL: url })

  test('an unreachable server: one line on stderr, exit 1, never the password', async () => {
    const { code, out, err } = await refused(`postgres://nolapse:${PASSWORD}@127.0.0.1:${await freePort()}/nolapse`)
    expect(code).toBe(1)
    expect(out).toBe('')
    expect(err.trim().split('\n')).toHaveLength(1)
    expect(err).toStartWith('nolapse-platform: configuration error: DATABASE_URL: cannot connect to postgres://nolapse@127.0.0.1:')
    expect(err).not.toContain(PASSWORD)
  }, 20_000)

  test('a server that refuses (no such database, wrong user): one line, exit 1, never the password', async () => {
    const url = new URL(TEST_DATABASE_URL)
    url.password = PASSWORD
    url.pathname = '/no_such_database'
    const missing = await refused(url.toString())
    expect(missing.code).toBe(1)
    expect(missing.err.trim().split('\n')).toHaveLength(1)
    expect(missing.err).toContain('no_such_database')
    expect(missing.err).not.toContain(PASSWORD)
    url.username = 'no_such_user'
    url.pathname = '/postgres'
    const user = await refused(url.toString())
    expect(user.code).toBe(1)
    expect(user.err.trim().split('\n')).toHaveLength(1)
    expect(user.err).toContain('no_such_user')
    expect(user.err).not.toContain(PASSWORD)
  }, 20_000)

  test('instances starting together migrate once (advisory lock)', async () => {
    const admin = new SQL(TEST_DATABASE_URL, { max: 1 })
    const name = `nolapse_migrate_${process.pid}`
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name}`)
    await admin.unsafe(`CREATE DATABASE ${name}`)
    const url = new URL(TEST_DATABASE_URL)
    url.pathname = `/${name}`
    const { connectDatabase } = await import('../../src/db/client')
    const dbs = await Promise.all(Array.from({ length: 4 }, () => connectDatabase(url.toString(), { poolSize: 2 })))
    const applied = await dbs[0]!.all<{ n: number }>('SELECT count(*) AS n FROM drizzle.__drizzle_migrations')
    const journal = await Bun.file(join(ROOT, 'drizzle', 'pg', 'meta', '_journal.json')).json()
    expect(applied[0]!.n).toBe(journal.entries.length) // each migration once, not once per instance
    for (const db of dbs) await db.close()
    await admin.unsafe(`DROP DATABASE ${name}`)
    await admin.close()
  }, 30_000)
})

describe.skipIf(!onPostgres)('PostgreSQL restarted under a running server', () => {
  let dir = ''
  let port = 0
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nolapse-pg-'))
    port = await freePort()
    await sh(PG, 'init', dir)
    await sh(PG, 'start', dir, String(port))
  }, 60_000)
  afterAll(async () => {
    await sh(PG, 'stop', dir).catch(() => {})
  })

  test('requests answer 503 database unavailable (fast, never 500), /health says so, the server recovers, no acknowledged run is lost', async () => {
    const { proc, base } = await startServer({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`, DATABASE_POOL_SIZE: '4' })
    try {
      const post = (path: string, body: unknown, token?: string, headers: Record<string, string> = {}) =>
        fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token ?? 'svc-token-0123456789'}`, ...headers }, body: JSON.stringify(body) })
      const session = await (await post('/v1/sessions/create', { user_id: 'u', org_slug: 'acme' })).json()
      // Enterprise before the first authenticated request reads (and caches) the organisation: no rate limit in the way.
      const admin = new SQL(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1 })
      await admin.unsafe("UPDATE organisations SET plan = 'enterprise'")
      await admin.close()
      const token = (await (await post('/v1/tokens', { name: 'ci' }, session.token)).json()).secret as string

      // Ingestion runs the whole time; every 201 is an acknowledged run that must survive.
      const acknowledged = new Set<string>()
      const statuses = new Map<number, number>()
      const unexpected: string[] = []
      let slowest = 0
      let running = true
      let n = 0
      const ingest = async () => {
        while (running) {
          const started = performance.now()
          const res = await post('/v1/executions', { repo: 'svc', branch: 'main', coverage: 50 + (n++ % 40) }, token, { 'idempotency-key': `k-${n}` })
          slowest = Math.max(slowest, performance.now() - started)
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
          const body = await res.json()
          if (res.status === 201) acknowledged.add(body.id)
          else if (res.status !== 503 || body.error !== 'database unavailable') unexpected.push(`${res.status} ${JSON.stringify(body)}`)
          await Bun.sleep(5)
        }
      }
      const workers = [ingest(), ingest(), ingest()]
      await Bun.sleep(500)
      await sh(PG, 'stop', dir)
      await Bun.sleep(1500)
      const health = await fetch(`${base}/health`)
      expect([health.status, await health.json()]).toEqual([503, { error: 'database unavailable' }])
      const list = await fetch(`${base}/v1/executions?org=acme&repo=svc`, { headers: { authorization: `Bearer ${token}` } })
      expect([list.status, await list.json()]).toEqual([503, { error: 'database unavailable' }])
      await sh(PG, 'start', dir, String(port))
      // Recovery by itself: within a few seconds runs are accepted again.
      const before = acknowledged.size
      for (let i = 0; i < 100 && acknowledged.size === before; i++) await Bun.sleep(100)
      expect(acknowledged.size).toBeGreaterThan(before)
      expect((await fetch(`${base}/health`)).status).toBe(200)
      running = false
      await Promise.all(workers)

      expect(unexpected).toEqual([])
      expect(statuses.get(503) ?? 0).toBeGreaterThan(0)
      expect(statuses.get(500) ?? 0).toBe(0)
      expect(slowest).toBeLessThan(10_000) // a refusal takes a connect timeout (3 s) at most: no hang
      const db = new SQL(`postgres://postgres@127.0.0.1:${port}/postgres`, { max: 1 })
      const stored = new Set((await db.unsafe('SELECT id FROM executions')).map((row: { id: string }) => row.id))
      for (const id of acknowledged) expect(stored.has(id)).toBe(true)
      const counter = await db.unsafe("SELECT execution_count FROM repositories WHERE name = 'svc'")
      expect(counter[0].execution_count).toBe(stored.size)
      await db.close()
    } finally {
      proc.kill()
      await proc.exited
    }
  }, 60_000)

  test('a statement that runs past DATABASE_STATEMENT_TIMEOUT_MS is cancelled and answered 503, freeing its connection', async () => {
    const { connectDatabase } = await import('../../src/db/client')
    const db = await connectDatabase(`postgres://postgres@127.0.0.1:${port}/postgres`, { poolSize: 1, statementTimeoutMs: 200 })
    const { DatabaseUnavailableError } = await import('../../src/db/client')
    const started = performance.now()
    expect(await db.get('SELECT pg_sleep(5)').catch((error) => error)).toBeInstanceOf(DatabaseUnavailableError)
    expect(performance.now() - started).toBeLessThan(3000)
    // The pool's one connection is free again.
    expect(await db.get<{ x: number }>('SELECT 1 AS x')).toEqual({ x: 1 })
    await db.close()
  }, 20_000)
})
