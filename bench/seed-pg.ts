/**
 * Copies the benchmark seed (bench/seed.ts, SQLite) into a PostgreSQL database, so both backends are
 * measured on the same 1.1M rows. Skipped when the database already holds this seed version.
 */
import { Database } from 'bun:sqlite'
import { SQL } from 'bun'
import { connectDatabase } from '../src/db/client'
import type { Seed } from './seed'

const TABLES = ['organisations', 'sessions', 'api_tokens', 'repositories', 'executions', 'daily_rollups'] as const
const CHUNK = 2000

export async function seedPostgres(url: string, seed: Seed): Promise<void> {
  const db = await connectDatabase(url, { poolSize: 2 }) // applies the migrations
  await db.close()
  const pg = new SQL(url, { max: 1 })
  await pg.unsafe('CREATE TABLE IF NOT EXISTS bench_seed (file text PRIMARY KEY)')
  if ((await pg.unsafe('SELECT 1 FROM bench_seed WHERE file = $1', [seed.file])).length > 0) return void (await pg.close())
  const started = performance.now()
  const sqlite = new Database(seed.file, { readonly: true })
  await pg.unsafe(`TRUNCATE ${[...TABLES].reverse().join(', ')}, audit_events, idempotency_keys, webhook_events, stream_tickets CASCADE`)
  for (const table of TABLES) {
    const total = (sqlite.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n
    for (let offset = 0; offset < total; offset += CHUNK) {
      const rows = sqlite.query(`SELECT * FROM ${table} ORDER BY rowid LIMIT ? OFFSET ?`).all(CHUNK, offset) as Record<string, unknown>[]
      for (const row of rows) {
        if ('private' in row) row.private = row.private === 1
        if ('strict_mode' in row) row.strict_mode = row.strict_mode === 1
      }
      await pg`INSERT INTO ${pg(table)} ${pg(rows)}`
    }
  }
  // Keep the identity sequence ahead of the copied ids.
  await pg.unsafe("SELECT setval(pg_get_serial_sequence('repositories', 'id'), (SELECT max(id) FROM repositories))")
  await pg.unsafe('ANALYZE')
  await pg.unsafe('INSERT INTO bench_seed (file) VALUES ($1)', [seed.file])
  await pg.close()
  sqlite.close()
  console.error(`copied the seed into PostgreSQL in ${((performance.now() - started) / 1000).toFixed(1)} s`)
}
