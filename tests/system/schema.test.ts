import { describe, expect, test } from 'bun:test'
import { is } from 'drizzle-orm'
import { getTableConfig as pgConfig, PgTable } from 'drizzle-orm/pg-core'
import { getTableConfig as sqliteConfig, SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as pg from '../../src/db/schema.pg'
import * as sqlite from '../../src/db/schema'

/*
 * The two schema files describe one database: the same tables, columns (name, nullability, primary key),
 * primary keys, unique constraints and indexes (name, columns in order, unique or not) on both backends.
 * Types differ by dialect on purpose (integer/bigint, real/double precision) and are not compared.
 */
type Shape = {
  columns: Record<string, { notNull: boolean; primary: boolean }>
  primaryKey: string[]
  indexes: Record<string, { columns: string[]; unique: boolean }>
}

const columnName = (c: unknown) => (c as { name: string }).name

/** What drizzle's getTableConfig tells of a table, on either dialect. */
interface TableConfig {
  name: string
  columns: { name: string; notNull: boolean; primary: boolean }[]
  primaryKeys: { columns: unknown[] }[]
  indexes: { config: { name?: string; columns: unknown[]; unique: boolean } }[]
  uniqueConstraints: { name?: string; getName(): string; columns: unknown[] }[]
}

function shapes(module: Record<string, unknown>, isTable: (value: unknown) => boolean, config: (table: never) => TableConfig): Record<string, Shape> {
  const out: Record<string, Shape> = {}
  for (const value of Object.values(module)) {
    if (!isTable(value)) continue
    const c = config(value as never)
    out[c.name] = {
      columns: Object.fromEntries(c.columns.map((col) => [col.name, { notNull: col.notNull, primary: col.primary }])),
      primaryKey: c.primaryKeys.flatMap((k) => k.columns.map(columnName)),
      indexes: Object.fromEntries([
        ...c.indexes.map((i) => [i.config.name!, { columns: i.config.columns.map(columnName), unique: i.config.unique }]),
        ...c.uniqueConstraints.map((u) => [u.name ?? u.getName(), { columns: u.columns.map(columnName), unique: true }]),
      ]),
    }
  }
  return out
}

const sqliteShapes = () => shapes(sqlite, (v) => is(v, SQLiteTable), sqliteConfig as unknown as (table: never) => TableConfig)
const pgShapes = () => shapes(pg, (v) => is(v, PgTable), pgConfig as unknown as (table: never) => TableConfig)

describe('the SQLite and PostgreSQL schemas', () => {
  test('have the same tables, columns, nullability, primary keys and indexes', () => {
    const a = sqliteShapes()
    const b = pgShapes()
    expect(Object.keys(a).length).toBeGreaterThanOrEqual(12)
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort())
    for (const table of Object.keys(a)) expect([table, b[table]]).toEqual([table, a[table]])
  })
})
