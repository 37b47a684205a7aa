import { expect, test } from 'bun:test'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCheckpointer } from '../../src/db/checkpointer'
import { openDatabase } from '../../src/db/client'
import { onPostgres } from '../helpers/db'

// SQLite's WAL: run once, in the SQLite pass.
test.skipIf(onPostgres)('the checkpoint worker copies the WAL back into the database file without the writer checkpointing', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'nolapse-ckpt-')), 'ckpt.db')
  const db = openDatabase(path)
  db.sqlite.exec('PRAGMA wal_autocheckpoint = 0') // isolate the worker: the writer itself never checkpoints here
  const stop = startCheckpointer(db, { warn() {} }, { intervalMs: 20 })
  const before = statSync(path).size
  const insert = db.sqlite.prepare("INSERT INTO organisations (id, slug, name, created_at) VALUES (?, ?, 'x', 0)")
  db.sqlite.transaction(() => {
    for (let i = 0; i < 3000; i++) insert.run(`org_${i}`, `slug-${i}`)
  })()
  expect(statSync(`${path}-wal`).size).toBeGreaterThan(0)
  let grown = false
  for (let i = 0; i < 250 && !grown; i++) {
    await Bun.sleep(20) // waiting for the worker's effect, not timing anything
    grown = statSync(path).size > before
  }
  stop()
  expect(grown).toBe(true)
  expect(db.sqlite.query('SELECT count(*) AS n FROM organisations').get()).toEqual({ n: 3000 })
  db.close()
})
