import { SQL } from 'bun'
import type { Db } from '../../src/db/client'
import { openDatabase } from '../../src/db/sqlite'
import { migratePostgres, postgresDb } from '../../src/db/postgres'

/**
 * The suite runs on SQLite (`:memory:`) by default and on PostgreSQL when TEST_DATABASE_URL names a
 * server (`.ci/run` starts a throwaway cluster): every test app then gets a database of its own, created
 * from a template migrated once per run (CREATE DATABASE … TEMPLATE copies files: ~10 ms, not a migration).
 */
export const TEST_DATABASE_URL = Bun.env.TEST_DATABASE_URL ?? ''
export const onPostgres = TEST_DATABASE_URL.startsWith('postgres')
export const backend = onPostgres ? 'postgres' : 'sqlite'

const TEMPLATE = `nolapse_tpl_${process.pid}`
let admin: SQL | undefined
let template: Promise<void> | undefined
// CREATE DATABASE from one template must not overlap: queue them.
let creating: Promise<unknown> = Promise.resolve()
let made = 0

export function urlFor(database: string): string {
  const url = new URL(TEST_DATABASE_URL)
  url.pathname = `/${database}`
  return url.toString()
}

async function makeTemplate(): Promise<void> {
  admin = new SQL(TEST_DATABASE_URL, { max: 1 })
  await admin.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE}`)
  await admin.unsafe(`CREATE DATABASE ${TEMPLATE}`)
  const pool = new SQL(urlFor(TEMPLATE), { max: 1 })
  await migratePostgres(pool)
  await pool.close()
}

/** A fresh, migrated, empty PostgreSQL database; its name is returned with it. */
export async function freshPostgres(): Promise<string> {
  const name = `nolapse_t_${process.pid}_${++made}`
  const job = creating.then(async () => {
    await (template ??= makeTemplate())
    await admin!.unsafe(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`)
  })
  creating = job.catch(() => {})
  await job
  return name
}

/**
 * A database for one test app, returned at once: on PostgreSQL it is created in the background and every
 * call waits for it (test apps are built synchronously).
 */
export function testDatabase(): Db {
  if (!onPostgres) return openDatabase(':memory:')
  let inner: Db | undefined
  const ready = freshPostgres().then((name) => {
    inner = postgresDb(new SQL(urlFor(name), { max: 4, idleTimeout: 5, connection: { statement_timeout: 10_000 } }), `postgres://${name}`)
  })
  const on = async () => (await ready, inner!)
  return {
    dialect: 'postgres',
    label: 'postgres (test)',
    tx: async (step) => (await on()).tx(step),
    read: async (step) => (await on()).read(step),
    all: async (text, params) => (await on()).all(text, params),
    get: async (text, params) => (await on()).get(text, params),
    run: async (text, params) => (await on()).run(text, params),
    healthy: async () => (await on()).healthy(),
    close: async () => (await on()).close(),
  }
}

/** `n` handles on one database, as `n` server instances would hold (a file for SQLite; pools for PostgreSQL). */
export async function sharedDatabases(n: number): Promise<Db[]> {
  if (!onPostgres) {
    const { mkdtempSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const file = join(mkdtempSync(join(tmpdir(), 'nolapse-shared-')), 'shared.db')
    return Array.from({ length: n }, () => openDatabase(file))
  }
  const name = await freshPostgres()
  return Array.from({ length: n }, () => postgresDb(new SQL(urlFor(name), { max: 4, idleTimeout: 5 }), name))
}
