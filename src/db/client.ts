import { Database } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { drizzle, type BunSQLiteDatabase } from 'drizzle-orm/bun-sqlite'
import { migrate } from 'drizzle-orm/bun-sqlite/migrator'
import { ConfigError } from '../config'
import * as schema from './schema'

export type Orm = BunSQLiteDatabase<typeof schema>

/** The database handle every module receives: drizzle for most queries, the raw handle for prepared hot-path statements. */
export interface Db {
  sqlite: Database
  orm: Orm
  /** The file path (or `:memory:`). */
  path: string
  close(): void
}

export const MIGRATIONS_FOLDER = join(import.meta.dir, '..', '..', 'drizzle', 'sqlite')

function filePath(url: string): string {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    throw new ConfigError('DATABASE_URL: PostgreSQL is not supported yet; use a SQLite file path or :memory:')
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
    throw new ConfigError(`DATABASE_URL: "${path}" is not writable (${(error as Error).message}); the file, its -wal/-shm files and their folder must be writable by this user (uid ${process.getuid?.() ?? '?'})`)
  }
}

/**
 * Opens (creating folders and file as needed) the SQLite database, sets the PRAGMAs we rely on
 * and applies the drizzle migrations. Throws ConfigError when the path cannot be used.
 */
export function openDatabase(url: string, options: { migrate?: boolean } = {}): Db {
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
  const orm = drizzle(sqlite, { schema })
  if (options.migrate !== false) migrate(orm, { migrationsFolder: MIGRATIONS_FOLDER })
  return { sqlite, orm, path, close: () => sqlite.close() }
}
