import { expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { MIGRATIONS_FOLDER, openDatabase } from '../../src/db/client'
import { onPostgres } from '../helpers/db'

/*
 * The upgrade path for self-hosters (README): a database made by an earlier release — only the first
 * migration applied, an API token in the old format — opens with today's code, which applies the rest in
 * place; its data and its token keep working.
 */
test.skipIf(onPostgres)('a database at the first migration upgrades in place; its old-format token still validates', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nolapse-upgrade-'))
  // The migrations folder as the first release shipped it: 0000 alone.
  const first = join(dir, 'migrations')
  mkdirSync(join(first, 'meta'), { recursive: true })
  cpSync(join(MIGRATIONS_FOLDER, '0000_init.sql'), join(first, '0000_init.sql'))
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8'))
  writeFileSync(join(first, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, 1) }))
  const path = join(dir, 'old.db')
  const old = new Database(path, { create: true, strict: true })
  old.exec('PRAGMA journal_mode = WAL')
  migrate(drizzle(old), { migrationsFolder: first })
  const id = crypto.randomUUID()
  const token = `nlp_${id.replaceAll('-', '')}0badc0de`
  old.run("INSERT INTO organisations (id, slug, name, plan, created_at) VALUES ('org_old', 'acme', 'Acme', 'team', 0)")
  old.run("INSERT INTO api_tokens (id, org_id, name, secret_hash, scopes, created_at) VALUES (?, 'org_old', 'ci', ?, '[\"execute\"]', 0)", [
    id,
    new Bun.CryptoHasher('sha256').update(token).digest('hex'),
  ])
  old.close()

  const db = openDatabase(path)
  const applied = db.sqlite.query('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }
  expect(applied.n).toBe(journal.entries.length)
  expect(db.sqlite.query("SELECT name FROM sqlite_master WHERE name = 'stream_tickets'").get()).toEqual({ name: 'stream_tickets' })
  const app = createApp({ config: loadConfig({ DATABASE_URL: path, SERVICE_TOKEN: 'x' }), db, logger: { debug() {}, info() {}, warn() {}, error() {}, access() {}, audit() {} } })
  const res = await app.handle(new Request('http://localhost/v1/auth/validate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) }))
  expect([res.status, await res.json()]).toEqual([200, { valid: true, org_id: 'org_old', scopes: ['execute'] }])
  db.close()
})

/*
 * Start-up loads drizzle's migrator only when a migration is pending (src/db/migrations.ts): a database
 * that is up to date opens without it, and one a migration behind still gets it.
 */
test.skipIf(onPostgres)('an up-to-date database opens without loading drizzle; a pending migration still loads and applies it', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'nolapse-migrated-')), 'db.sqlite')
  const fresh = join(mkdtempSync(join(tmpdir(), 'nolapse-fresh-')), 'db.sqlite')
  const open = `const { openDatabase } = await import(${JSON.stringify(join(import.meta.dir, '../../src/db/sqlite.ts'))});
    const db = openDatabase(process.argv[1]);
    const n = db.sqlite.query('SELECT count(*) AS n FROM __drizzle_migrations').get().n;
    console.log(JSON.stringify({ drizzle: Object.keys(require.cache).some((k) => k.includes('drizzle-orm')), n }))`
  const run = (file = path) => JSON.parse(Bun.spawnSync(['bun', '-e', open, file], { stderr: 'inherit' }).stdout.toString())
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8'))
  // A new database gets every migration, through drizzle; opened again it needs none, and drizzle stays unloaded.
  expect(run(fresh)).toEqual({ drizzle: true, n: journal.entries.length })
  expect(run(fresh)).toEqual({ drizzle: false, n: journal.entries.length })
  // A database one release behind: every migration but the newest (the folder as that release shipped it).
  const older = join(mkdtempSync(join(tmpdir(), 'nolapse-older-')), 'sqlite')
  cpSync(MIGRATIONS_FOLDER, older, { recursive: true })
  writeFileSync(join(older, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, -1) }))
  const behind = new Database(path, { strict: true })
  migrate(drizzle(behind), { migrationsFolder: older })
  behind.close()
  // The newest migration is pending: drizzle is loaded and applies it; then the database is up to date.
  expect(run()).toEqual({ drizzle: true, n: journal.entries.length })
  expect(run()).toEqual({ drizzle: false, n: journal.entries.length })
})
