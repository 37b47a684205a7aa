/**
 * `bun bench/pg-drivers.ts [postgres://…]`: the driver question of the PostgreSQL issue, measured.
 * drizzle-orm/bun-sql (Bun's built-in client) against drizzle-orm/postgres-js on the three hot paths —
 * validate (a token by its hash), list (a repository's newest 10 runs) and ingest (one insert in a
 * transaction) — sequentially and with 32 in flight over a pool of 10, plus LISTEN/NOTIFY (the
 * multi-instance issue needs it). Needs a running PostgreSQL; it creates and drops its own tables.
 */
import { SQL } from 'bun'
import { desc, eq, sql as raw } from 'drizzle-orm'
import { drizzle as bunSqlDrizzle } from 'drizzle-orm/bun-sql'
import { bigint, index, integer, pgTable, real, text } from 'drizzle-orm/pg-core'
import { drizzle as postgresJsDrizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'

const URL_ = process.argv[2] ?? Bun.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:55432/postgres'
const POOL = 10

const tokens = pgTable('bench_tokens', { id: text('id').primaryKey(), secretHash: text('secret_hash').notNull().unique(), orgId: text('org_id').notNull(), scopes: text('scopes').notNull() })
const runs = pgTable('bench_runs', {
  id: text('id').primaryKey(),
  repoId: integer('repo_id').notNull(),
  branch: text('branch').notNull(),
  coverage: real('coverage').notNull(),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
}, (t) => [index('bench_runs_repo_idx').on(t.repoId, t.id)])

async function setup(client: postgres.Sql) {
  await client.unsafe(`DROP TABLE IF EXISTS bench_tokens, bench_runs;
    CREATE TABLE bench_tokens (id text primary key, secret_hash text not null unique, org_id text not null, scopes text not null);
    CREATE TABLE bench_runs (id text primary key, repo_id integer not null, branch text not null, coverage real not null, created_at bigint not null);
    CREATE INDEX bench_runs_repo_idx ON bench_runs (repo_id, id);
    INSERT INTO bench_tokens SELECT 't' || g, md5(g::text) || md5((g + 1)::text), 'org', '["execute"]' FROM generate_series(1, 10000) g;
    INSERT INTO bench_runs SELECT 'exe_' || lpad(g::text, 10, '0'), g % 10, 'main', 80, g FROM generate_series(1, 100000) g;
    ANALYZE;`)
}

type Db = ReturnType<typeof postgresJsDrizzle> | ReturnType<typeof bunSqlDrizzle>

async function measure(name: string, db: Db) {
  const validate = db.select().from(tokens).where(eq(tokens.secretHash, raw.placeholder('hash'))).prepare('v')
  const list = db.select().from(runs).where(eq(runs.repoId, raw.placeholder('repo'))).orderBy(desc(runs.id)).limit(10).prepare('l')
  let n = 0
  const ops = {
    validate: () => validate.execute({ hash: `${(Math.random() * 1e9) | 0}` }),
    list: () => list.execute({ repo: n++ % 10 }),
    ingest: () => db.transaction(async (tx) => tx.insert(runs).values({ id: `exe_x${name}${n++}`, repoId: 3, branch: 'main', coverage: 81, createdAt: Date.now() })),
  }
  const out: string[] = []
  for (const [op, run] of Object.entries(ops)) {
    for (let i = 0; i < 300; i++) await run()
    let t0 = performance.now()
    for (let i = 0; i < 3000; i++) await run()
    const sequential = 3000 / ((performance.now() - t0) / 1000)
    t0 = performance.now()
    let left = 6000
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (left-- > 0) await run()
    }))
    const concurrent = 6000 / ((performance.now() - t0) / 1000)
    out.push(`| ${name} | ${op} | ${Math.round(sequential).toLocaleString('en')} | ${Math.round(concurrent).toLocaleString('en')} |`)
  }
  return out
}

async function listenNotify(name: string, listen: (channel: string, onMessage: (payload: string) => void) => Promise<unknown>, notify: (channel: string, payload: string) => Promise<unknown>) {
  try {
    const got = new Promise<string>((resolve) => listen('bench_channel', resolve))
    await Bun.sleep(200)
    await notify('bench_channel', 'hello')
    const payload = await Promise.race([got, Bun.sleep(2000).then(() => 'timeout')])
    return `${name}: LISTEN/NOTIFY ${payload === 'hello' ? 'works' : `failed (${payload})`}`
  } catch (error) {
    return `${name}: LISTEN/NOTIFY unsupported (${(error as Error).message.slice(0, 120)})`
  }
}

const pg = postgres(URL_, { max: POOL, onnotice: () => {} })
await setup(pg)
const bun = new SQL(URL_, { max: POOL })
const rows = ['| driver | path | sequential ops/s | 32 in flight ops/s |', '|---|---|---:|---:|']
rows.push(...(await measure('postgres-js', postgresJsDrizzle(pg))))
rows.push(...(await measure('bun-sql', bunSqlDrizzle(bun as any))))
console.log(rows.join('\n'))
console.log(await listenNotify('postgres-js', (c, f) => pg.listen(c, f), (c, p) => pg.notify(c, p)))
console.log(
  await listenNotify(
    'bun-sql',
    async (c, f) => {
      const listener = (bun as any).listen
      if (typeof listener !== 'function') throw new Error('Bun.SQL has no listen()')
      return listener.call(bun, c, f)
    },
    (c, p) => bun`SELECT pg_notify(${c}, ${p})`,
  ),
)
await pg.unsafe('DROP TABLE IF EXISTS bench_tokens, bench_runs')
await pg.end()
await bun.close()
