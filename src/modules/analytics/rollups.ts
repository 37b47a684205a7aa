import type { Db } from '../../db/client'
import { run, type Step } from '../../db/work'
import type { InsertedExecution } from '../executions/service'

export const DAY_MS = 86_400_000

/** What a day's rollup adds or takes away per run: the executions feature's own description of a new run. */
export type RolledExecution = InsertedExecution

/**
 * Maintains `daily_rollups` alongside executions. Callers run these inside the transaction that inserts
 * or deletes the executions, so the rollups never disagree with the rows they summarise.
 */
const UPSERT = `INSERT INTO daily_rollups (org_id, day, repo_id, agent_type, executions, pass, warn, fail, coverage_sum)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (org_id, day, repo_id, agent_type) DO UPDATE SET
    executions = daily_rollups.executions + excluded.executions, pass = daily_rollups.pass + excluded.pass,
    warn = daily_rollups.warn + excluded.warn, fail = daily_rollups.fail + excluded.fail,
    coverage_sum = daily_rollups.coverage_sum + excluded.coverage_sum`
const PRUNE = 'DELETE FROM daily_rollups WHERE org_id = ? AND day = ? AND repo_id = ? AND agent_type = ? AND executions <= 0'

/** Units (see db/work.ts) that keep the rollups; they run inside the caller's transaction. */
export const rollups = {
  /** Counts new executions, grouped: one statement per (organisation, day, repository, agent). */
  addMany: (rows: RolledExecution[]): Step<void> => shift(rows, 1),
  /** Takes deleted executions back out, grouped the same way. */
  remove: (rows: RolledExecution[]): Step<void> => shift(rows, -1),
}

/** Adds (`sign` 1) or takes out (-1) executions, one upsert per group, groups in key order (lock order). */
function* shift(rows: RolledExecution[], sign: 1 | -1): Step<void> {
  const groups = new Map<string, { org: string; day: number; repo: number; agent: string; n: number; pass: number; warn: number; fail: number; sum: number }>()
  for (const row of rows) {
    const day = Math.floor(row.created_at / DAY_MS)
    const key = `${row.org_id}\0${String(day).padStart(8, '0')}\0${String(row.repo_id).padStart(12, '0')}\0${row.agent_type}`
    let g = groups.get(key)
    if (!g) groups.set(key, (g = { org: row.org_id, day, repo: row.repo_id, agent: row.agent_type, n: 0, pass: 0, warn: 0, fail: 0, sum: 0 }))
    g.n++
    g[row.outcome]++
    g.sum += row.coverage
  }
  const keys = [...groups.keys()]
  if (keys.length > 1) keys.sort()
  for (const key of keys) {
    const g = groups.get(key)!
    yield* run(UPSERT, [g.org, g.day, g.repo, g.agent, sign * g.n, sign * g.pass, sign * g.warn, sign * g.fail, sign * g.sum])
    if (sign < 0) yield* run(PRUNE, [g.org, g.day, g.repo, g.agent])
  }
}

/** Recomputes every rollup from the executions table (for seeded or imported data). */
export async function rebuildRollups(db: Db): Promise<void> {
  await db.tx(
    (function* () {
      yield* run('DELETE FROM daily_rollups')
      yield* run(`INSERT INTO daily_rollups (org_id, day, repo_id, agent_type, executions, pass, warn, fail, coverage_sum)
        SELECT org_id, created_at / ${DAY_MS}, repo_id, agent_type, count(*),
          sum(CASE WHEN outcome = 'pass' THEN 1 ELSE 0 END), sum(CASE WHEN outcome = 'warn' THEN 1 ELSE 0 END),
          sum(CASE WHEN outcome = 'fail' THEN 1 ELSE 0 END), sum(coverage)
        FROM executions GROUP BY org_id, created_at / ${DAY_MS}, repo_id, agent_type`)
    })(),
  )
}
