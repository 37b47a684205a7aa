import type { Database } from 'bun:sqlite'
import type { Params, Step } from './work'
import { withoutPassword } from '../lib/urls'

export type Dialect = 'sqlite' | 'postgres'

/**
 * The database every module receives, whichever backend is behind it. Statements are written once, with
 * `?` placeholders, in the SQL both dialects share; work that must be atomic is a unit (see work.ts)
 * handed to `tx`. Each backend keeps its own speed: SQLite runs units synchronously on one connection,
 * PostgreSQL on a pool of `DATABASE_POOL_SIZE` connections.
 */
export interface Db {
  dialect: Dialect
  /**
   * Runs a unit in one transaction: all of it commits, or none of it. Given a function that makes the
   * unit, a transaction PostgreSQL aborts as a deadlock or serialization failure is run again (up to 3 times).
   */
  tx<T>(unit: Step<T> | (() => Step<T>)): Promise<T>
  /** Runs a unit outside a transaction (reads, and single statements that are atomic by themselves). */
  read<T>(step: Step<T>): Promise<T>
  all<T>(text: string, params?: Params): Promise<T[]>
  get<T>(text: string, params?: Params): Promise<T | null>
  /** A write; resolves to the number of rows it changed. */
  run(text: string, params?: Params): Promise<number>
  /**
   * Messages between the instances sharing this database (PostgreSQL LISTEN/NOTIFY); absent on SQLite,
   * whose database one process serves. Delivery is best effort: every receiver has a fallback.
   */
  signals?: Signals
  /**
   * Whether this instance holds the named duty among the instances on this database (a PostgreSQL session
   * advisory lock, taken if free; it passes to another instance when this one dies). Absent on SQLite.
   */
  lead?(duty: string): Promise<boolean>
  /** Whether the database answers now (for /health): true, or false within a few seconds. */
  healthy(): boolean | Promise<boolean>
  /** Where the data lives, safe to print (a PostgreSQL password is never part of it). */
  label: string
  close(): Promise<void>
}

export interface Signals {
  /** Sends `payload` (≤ 8,000 bytes) to every instance listening on `channel`, this one included. */
  send(channel: string, payload: string): Promise<void>
  /** Listens on `channel` (re-listening by itself after a reconnect) until the returned function is called. */
  listen(channel: string, receive: (payload: string) => void): Promise<() => Promise<void>>
}

/** The embedded backend: the same interface plus the raw handle, for what only SQLite has (WAL checkpoints). */
export interface SqliteDb extends Db {
  dialect: 'sqlite'
  sqlite: Database
  /** The file path (or `:memory:`). */
  path: string
}

/**
 * The database cannot be reached (refused, restarted, timed out). Answered 503 `{"error":"database
 * unavailable"}`; the pool reconnects by itself once it is back.
 */
export class DatabaseUnavailableError extends Error {
  constructor(readonly reason: string) {
    super('database unavailable')
  }
}

/** PostgreSQL text cannot hold U+0000: such a value is the client's mistake, answered 400, never stored or matched. */
export class InvalidTextError extends Error {
  constructor() {
    super('invalid text: the NUL character (\\u0000) is not accepted')
  }
}

/**
 * The database has no room for a write (SQLite `SQLITE_FULL`: a full disk or `max_page_count`; PostgreSQL
 * 53100 disk_full): the write was rolled back whole, nothing acknowledged is lost, and a retry later works.
 */
export function isStorageFull(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown }
  return e?.code === 'SQLITE_FULL' || e?.errno === '53100'
}

export function isPostgresUrl(url: string): boolean {
  return url.startsWith('postgres://') || url.startsWith('postgresql://')
}

/** `postgres://user:…@host:port/db` → `postgres://user@host:port/db`: for logs and error lines. */
export function redactUrl(url: string): string {
  return isPostgresUrl(url) ? withoutPassword(url) : url
}

export interface OpenOptions {
  migrate?: boolean
  poolSize?: number
  statementTimeoutMs?: number
}
