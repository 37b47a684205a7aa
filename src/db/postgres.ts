import { SQL } from 'bun'
import { join } from 'node:path'
import { ConfigError } from '../lib/config-error'
import { upToDate } from './migrations'
import { DatabaseUnavailableError, InvalidTextError, redactUrl, type Db, type OpenOptions, type Signals } from './types'
import { driveAsync, type Op, type Params, type Step } from './work'
import { timed } from '../lib/timed'

export const PG_MIGRATIONS_FOLDER = join(import.meta.dir, '..', '..', 'drizzle', 'pg')

/** Instances starting together take this session lock, so exactly one of them applies the migrations. */
const MIGRATION_LOCK = 7_346_101

const INT8 = 20
const NUMERIC = 1700

/** SQLSTATE classes and Bun codes that mean "the database is not there", not "the statement was wrong". */
function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; errno?: string }
  if (typeof e?.code === 'string' && /^ERR_POSTGRES_(CONNECTION|IDLE|LIFETIME|NOT_CONNECTED|SOCKET|TLS)/.test(e.code)) return true
  const state = typeof e?.errno === 'string' ? e.errno : ''
  // 08: connection exception; 57P01-3: shut down or starting; 53300: too many connections; 57014: statement timeout.
  return state.startsWith('08') || state.startsWith('57P0') || state === '53300' || state === '57014'
}

function describe(error: unknown, password: string): string {
  const e = error as { message?: string; errno?: string }
  let message = String(e?.message ?? error)
  if (password) message = message.replaceAll(password, '***')
  return e?.errno ? `${message} (SQLSTATE ${e.errno})` : message
}

/** `?` placeholders → `$1, $2, …` (our statements have no `?` inside literals). Translated once per text. */
function translator() {
  const cache = new Map<string, string>()
  return (text: string) => {
    let out = cache.get(text)
    if (out === undefined) {
      let n = 0
      out = text.replace(/\?/g, () => `$${++n}`)
      cache.set(text, out)
    }
    return out
  }
}

/** int8 (times in milliseconds, counts) and numeric (sums) arrive as strings; our values are all safe integers or doubles. */
function numbers(result: Record<string, unknown>[] & { columns?: { name: string; type: number }[] | null }): unknown[] {
  const columns = result.columns
  if (columns) {
    const wide = columns.filter((c) => c.type === INT8 || c.type === NUMERIC).map((c) => c.name)
    if (wide.length > 0)
      for (const row of result) for (const name of wide) if (row[name] !== null && row[name] !== undefined) row[name] = Number(row[name])
  }
  return result
}

type Runner = Pick<SQL, 'unsafe'>

/**
 * Opens a pool on PostgreSQL 14+, proves it answers, and applies `drizzle/pg/` under an advisory lock.
 * Throws ConfigError (one line, the password never in it) when the database cannot be reached.
 */
export async function openPostgres(url: string, options: OpenOptions = {}): Promise<Db> {
  const label = redactUrl(url)
  let password = ''
  try {
    password = decodeURIComponent(new URL(url).password)
  } catch {
    throw new ConfigError(`DATABASE_URL: not a valid URL (${label})`)
  }
  const pool = new SQL(url, {
    max: options.poolSize ?? 10,
    connectionTimeout: 3,
    idleTimeout: 60,
    connection: {
      application_name: 'nolapse-platform',
      statement_timeout: options.statementTimeoutMs ?? 5000,
      // A connection left in a transaction (a crashed request) is closed by the server, never held forever.
      idle_in_transaction_session_timeout: 30_000,
    },
  })
  try {
    await pool.unsafe('SELECT 1')
  } catch (error) {
    await pool.close().catch(() => {})
    throw new ConfigError(`DATABASE_URL: cannot connect to ${label}: ${describe(error, password)}`)
  }
  if (options.migrate !== false) {
    try {
      await migratePostgres(pool)
    } catch (error) {
      await pool.close().catch(() => {})
      throw new ConfigError(`DATABASE_URL: migrating ${label} failed: ${describe(error, password)}`)
    }
  }
  return postgresDb(pool, label)
}

export async function migratePostgres(pool: SQL): Promise<void> {
  // Up to date: no lock, no drizzle (`./migrations`).
  const [table] = (await pool.unsafe("SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present")) as { present: boolean }[]
  if (table?.present) {
    const [newest] = (await pool.unsafe('SELECT max(created_at) AS at FROM drizzle.__drizzle_migrations')) as { at: unknown }[]
    if (upToDate(newest?.at, PG_MIGRATIONS_FOLDER)) return
  }
  const { drizzle } = await import('drizzle-orm/bun-sql')
  const { migrate } = await import('drizzle-orm/bun-sql/migrator')
  const holder = await pool.reserve()
  try {
    await holder.unsafe(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`)
    // On the lock's own connection: a pool of one must not wait for a second connection.
    await migrate(drizzle({ client: holder as unknown as SQL }), { migrationsFolder: PG_MIGRATIONS_FOLDER })
  } finally {
    await holder.unsafe(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => {})
    holder.release()
  }
}

/** 40P01 deadlock, 40001 serialization failure: the transaction was aborted and may simply be run again. */
function isRetryable(error: unknown): boolean {
  const state = (error as { errno?: string })?.errno
  return state === '40P01' || state === '40001'
}

/** The Db interface over a Bun SQL pool. */
export function postgresDb(pool: SQL, label: string): Db {
  const pg = translator()
  let lastOk = 0

  async function statement(on: Runner, text: string, params: Params, rows: boolean): Promise<unknown> {
    const values = params.map((p) => {
      if (typeof p === 'string' && p.includes('\0')) throw new InvalidTextError()
      return p === undefined ? null : p
    })
    try {
      const result = await on.unsafe(pg(text), values)
      lastOk = Date.now()
      return rows ? numbers(result) : (result as unknown as { count: number }).count
    } catch (error) {
      if (isUnavailable(error)) throw new DatabaseUnavailableError(String((error as Error).message))
      // 22021: a byte sequence the encoding cannot hold (a NUL that slipped past the check above).
      if ((error as { errno?: string }).errno === '22021') throw new InvalidTextError()
      throw error
    }
  }

  function executor(on: Runner, inTransaction: boolean) {
    let savepoints = 0
    const exec = async (op: Op): Promise<unknown> => {
      switch (op.kind) {
        case 'all':
          return statement(on, op.text, op.params, true)
        case 'get':
          return ((await statement(on, op.text, op.params, true)) as unknown[])[0] ?? null
        case 'run':
          return statement(on, op.text, op.params, false)
        case 'lock':
          if (!inTransaction) throw new Error('lock() outside a transaction')
          return statement(on, 'SELECT pg_advisory_xact_lock(hashtext(?))', [op.key], false)
        case 'savepoint': {
          if (!inTransaction) throw new Error('savepoint() outside a transaction')
          const name = `sp${++savepoints}`
          await statement(on, `SAVEPOINT ${name}`, [], false)
          try {
            const ok = await driveAsync(op.work, exec)
            await statement(on, `RELEASE SAVEPOINT ${name}`, [], false)
            return { ok }
          } catch (error) {
            // A deadlock aborts the whole transaction (so it can be retried whole), not one savepoint.
            if (error instanceof DatabaseUnavailableError || isRetryable(error)) throw error
            await statement(on, `ROLLBACK TO SAVEPOINT ${name}`, [], false)
            return { error }
          } finally {
            savepoints--
          }
        }
      }
    }
    return exec
  }

  const outside = executor(pool, false)

  async function ping(): Promise<boolean> {
    try {
      await timed(statement(pool, 'SELECT 1', [], false), 2000)
      return true
    } catch {
      return false
    }
  }

  async function once<T>(step: Step<T>): Promise<T> {
    let conn: Awaited<ReturnType<SQL['reserve']>>
    try {
      conn = await pool.reserve()
    } catch (error) {
      throw isUnavailable(error) ? new DatabaseUnavailableError(String((error as Error).message)) : error
    }
    try {
      await statement(conn, 'BEGIN', [], false)
      let value: T
      try {
        value = await driveAsync(step, executor(conn, true))
      } catch (error) {
        await conn.unsafe('ROLLBACK').catch(() => {})
        throw error
      }
      await statement(conn, 'COMMIT', [], false)
      return value
    } finally {
      conn.release()
    }
  }

  // Duties held: each on a connection of its own, for as long as this process (and that connection) lives.
  const duties = new Map<string, Awaited<ReturnType<SQL['reserve']>>>()
  async function lead(duty: string): Promise<boolean> {
    const held = duties.get(duty)
    if (held) {
      // Still ours while its connection is alive; a lost connection lost the lock with it.
      if (await held.unsafe('SELECT 1').then(() => true, () => false)) return true
      duties.delete(duty)
      held.release()
    }
    let conn: Awaited<ReturnType<SQL['reserve']>>
    try {
      conn = await pool.reserve()
    } catch {
      return false
    }
    const rows = await conn.unsafe('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [`duty:${duty}`]).catch(() => [{ ok: false }])
    if (rows[0]?.ok === true) {
      duties.set(duty, conn)
      return true
    }
    conn.release()
    return false
  }

  const signals: Signals = {
    async send(channel, payload) {
      await pool.notify(channel, payload)
    },
    async listen(channel, receive) {
      const subscription = await pool.listen(channel, receive)
      return () => subscription.unlisten()
    },
  }

  return {
    dialect: 'postgres',
    label,
    signals,
    lead,
    async tx<T>(unit: Step<T> | (() => Step<T>)): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(typeof unit === 'function' ? unit() : unit)
        } catch (error) {
          if (typeof unit !== 'function' || attempt >= 3 || !isRetryable(error)) throw error
        }
      }
    },
    read: <T>(step: Step<T>) => driveAsync(step, outside),
    all: async <T>(text: string, params: Params = []) => (await statement(pool, text, params, true)) as T[],
    get: async <T>(text: string, params: Params = []) => (((await statement(pool, text, params, true)) as T[])[0] ?? null),
    run: async (text: string, params: Params = []) => (await statement(pool, text, params, false)) as number,
    healthy: () => (Date.now() - lastOk < 1000 ? true : ping()),
    close: async () => {
      for (const conn of duties.values()) conn.release()
      duties.clear()
      await pool.close()
    },
  }
}

