/*
 * The database: what every module receives (types.ts), and how DATABASE_URL picks a backend. The backends
 * (sqlite.ts, postgres.ts) import only types.ts, so nothing here runs in a circle.
 */
export * from './types'
import type { Db, OpenOptions } from './types'
import { isPostgresUrl } from './types'

/** Opens the backend DATABASE_URL names: PostgreSQL for postgres:// and postgresql://, SQLite for anything else. */
export async function connectDatabase(url: string, options: OpenOptions = {}): Promise<Db> {
  if (isPostgresUrl(url)) {
    const { openPostgres } = await import('./postgres')
    return openPostgres(url, options)
  }
  const { openDatabase } = await import('./sqlite')
  return openDatabase(url, options)
}

export { MIGRATIONS_FOLDER, openDatabase } from './sqlite'
