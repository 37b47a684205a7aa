import { describe, expect, test } from 'bun:test'
import { is } from 'drizzle-orm'
import { getTableConfig as pgConfig, PgTable } from 'drizzle-orm/pg-core'
import { getTableConfig as sqliteConfig, SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as pg from '../src/db/schema.pg'
import * as sqlite from '../src/db/schema'

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

function sqliteShapes(): Record<string, Shape> {
  const out: Record<string, Shape> = {}
  for (const value of Object.values(sqlite)) {
    if (!is(value, SQLiteTable)) continue
    const config = sqliteConfig(value)
    out[config.name] = {
      columns: Object.fromEntries(config.columns.map((c) => [c.name, { notNull: c.notNull, primary: c.primary }])),
      primaryKey: config.primaryKeys.flatMap((k) => k.columns.map(columnName)),
      indexes: Object.fromEntries([
        ...config.indexes.map((i) => [i.config.name, { columns: i.config.columns.map(columnName), unique: i.config.unique }]),
        ...config.uniqueConstraints.map((u) => [u.name ?? u.getName(), { columns: u.columns.map(columnName), unique: true }]),
      ]),
    }
  }
  return out
}

function pgShapes(): Record<string, Shape> {
  const out: Record<string, Shape> = {}
  for (const value of Object.values(pg)) {
    if (!is(value, PgTable)) continue
    const config = pgConfig(value)
    out[config.name] = {
      columns: Object.fromEntries(config.columns.map((c) => [c.name, { notNull: c.notNull, primary: c.primary }])),
      primaryKey: config.primaryKeys.flatMap((k) => k.columns.map(columnName)),
      indexes: Object.fromEntries([
        ...config.indexes.map((i) => [i.config.name!, { columns: i.config.columns.map(columnName), unique: i.config.unique }]),
        ...config.uniqueConstraints.map((u) => [u.name ?? u.getName(), { columns: u.columns.map(columnName), unique: true }]),
      ]),
    }
  }
  return out
}

describe('the SQLite and PostgreSQL schemas', () => {
  test('have the same tables, columns, nullability, primary keys and indexes', () => {
    const a = sqliteShapes()
    const b = pgShapes()
    expect(Object.keys(a).length).toBeGreaterThanOrEqual(12)
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort())
    for (const table of Object.keys(a)) expect([table, b[table]]).toEqual([table, a[table]])
  })
})
