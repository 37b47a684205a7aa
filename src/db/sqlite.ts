import { Database, type SQLQueryBindings } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { ConfigError } from '../lib/config-error'
import { upToDate } from './migrations'
import type { OpenOptions, SqliteDb } from './types'
import { driveSync, type Op, type Params, type Step } from './work'

export const MIGRATIONS_FOLDER = join(import.meta.dir, '..', '..', 'drizzle', 'sqlite')

function filePath(url: string): string {
  if (url.startsWith('file:')) return url.slice('file:'.length)
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length).replace(/^\/\//, '')
  return url
}

/**
 * A database SQLite can only read (a file or folder owned by another user, a read-only mount) still
 * opens, and with `-wal`/`-shm` present even switches to WAL, so the server would start, pass its health
 * check and answer 500 to every write. One write that is rolled back proves it can write.
 */
function assertWritable(sqlite: Database, path: string): void {
  try {
    sqlite.exec('BEGIN IMMEDIATE')
    sqlite.exec('CREATE TABLE __nolapse_write_probe (x INTEGER)')
    sqlite.exec('ROLLBACK')
  } catch (error) {
    if (sqlite.inTransaction) sqlite.exec('ROLLBACK')
    sqlite.close()
    throw new ConfigError(`DATABASE_URL: "${path}" is not writable (${(error as Error).message}); the file, its -wal/-shm files and their folder must be writable by this user (uid ${process.getuid?.() ?? '?'}); for a bind-mounted folder: chown ${process.getuid?.() ?? '<uid>'} <folder> on the host`)
  }
}

/**
 * Opens (creating folders and file as needed) the SQLite database, sets the PRAGMAs we rely on
 * and applies the drizzle migrations. Throws ConfigError when the path cannot be used.
 */
export function openDatabase(url: string, options: OpenOptions = {}): SqliteDb {
  const path = filePath(url)
  let sqlite: Database
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    sqlite = new Database(path, { create: true, strict: true })
    sqlite.exec('PRAGMA journal_mode = WAL')
  } catch (error) {
    throw new ConfigError(`DATABASE_URL: cannot open "${path}": ${(error as Error).message}`)
  }
  sqlite.exec('PRAGMA foreign_keys = ON')
  sqlite.exec('PRAGMA busy_timeout = 5000')
  // WAL with NORMAL sync is durable across process crashes (kill -9); only an OS crash may lose the last commits.
  sqlite.exec('PRAGMA synchronous = NORMAL')
  if (path !== ':memory:') assertWritable(sqlite, path)
  if (options.migrate !== false) migrateSqlite(sqlite)
  return sqliteDb(sqlite, path)
}

/** Applies pending drizzle migrations; loads drizzle only when one is pending (`./migrations`). */
function migrateSqlite(sqlite: Database): void {
  const table = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'").get()
  const newest = table ? (sqlite.prepare('SELECT max(created_at) AS at FROM __drizzle_migrations').get() as { at: unknown }).at : null
  if (upToDate(newest, MIGRATIONS_FOLDER)) return
  const { drizzle } = require('drizzle-orm/bun-sqlite') as typeof import('drizzle-orm/bun-sqlite')
  const { migrate } = require('drizzle-orm/bun-sqlite/migrator') as typeof import('drizzle-orm/bun-sqlite/migrator')
  migrate(drizzle(sqlite), { migrationsFolder: MIGRATIONS_FOLDER })
}

/** The Db interface over one bun:sqlite connection. Statements are compiled once and cached by text. */
export function sqliteDb(sqlite: Database, path: string): SqliteDb {
  const statements = new Map<string, ReturnType<Database['prepare']>>()
  const statement = (text: string) => {
    let s = statements.get(text)
    if (!s) statements.set(text, (s = sqlite.prepare(text)))
    return s
  }
  const all = (text: string, params: Params) => statement(text).all(...(params as SQLQueryBindings[])) as unknown[]
  const run = (text: string, params: Params) => statement(text).run(...(params as SQLQueryBindings[])).changes
  const get = (text: string, params: Params) => (statement(text).get(...(params as SQLQueryBindings[])) as unknown) ?? null
  let savepoints = 0
  function exec(op: Op): unknown {
    switch (op.kind) {
      case 'all':
        return all(op.text, op.params)
      case 'get':
        return get(op.text, op.params)
      case 'run':
        return run(op.text, op.params)
      case 'lock':
        return undefined
      case 'savepoint': {
        // Cached like every statement: a group commit opens one savepoint per run.
        const name = `sp${++savepoints}`
        run(`SAVEPOINT ${name}`, [])
        try {
          const ok = driveSync(op.work, exec)
          run(`RELEASE ${name}`, [])
          return { ok }
        } catch (error) {
          run(`ROLLBACK TO ${name}`, [])
          run(`RELEASE ${name}`, [])
          return { error }
        } finally {
          savepoints--
        }
      }
    }
  }
  // BEGIN IMMEDIATE: the write lock is taken up front, so a unit never fails half-way on a busy database.
  const transaction = sqlite.transaction((step: Step<unknown>) => driveSync(step, exec))
  return {
    dialect: 'sqlite',
    sqlite,
    path,
    label: path,
    tx: async <T>(unit: Step<T> | (() => Step<T>)) => transaction.immediate(typeof unit === 'function' ? unit() : unit) as T,
    read: async <T>(step: Step<T>) => driveSync(step, exec),
    all: async <T>(text: string, params: Params = []) => all(text, params) as T[],
    get: async <T>(text: string, params: Params = []) => get(text, params) as T | null,
    run: async (text: string, params: Params = []) => run(text, params),
    healthy: () => true,
    close: async () => sqlite.close(),
  }
}
