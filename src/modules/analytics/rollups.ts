import type { Database } from 'bun:sqlite'
import type { Outcome } from '../../db/schema'

export const DAY_MS = 86_400_000

export interface RolledExecution {
  org_id: string
  repo_id: number
  created_at: number
  agent_type: string
  outcome: Outcome
  coverage: number
}

/**
 * Maintains `daily_rollups` alongside executions. Callers run these inside the transaction that inserts
 * or deletes the executions, so the rollups never disagree with the rows they summarise.
 */
export function createRollups(q: Database) {
  const upsert = q.prepare<unknown, [string, number, number, string, number, number, number, number, number]>(
    `INSERT INTO daily_rollups (org_id, day, repo_id, agent_type, executions, pass, warn, fail, coverage_sum)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (org_id, day, repo_id, agent_type) DO UPDATE SET
       executions = executions + excluded.executions, pass = pass + excluded.pass, warn = warn + excluded.warn,
       fail = fail + excluded.fail, coverage_sum = coverage_sum + excluded.coverage_sum`,
  )
  const prune = q.prepare<unknown, [string, number, number, string]>(
    'DELETE FROM daily_rollups WHERE org_id = ? AND day = ? AND repo_id = ? AND agent_type = ? AND executions <= 0',
  )

  return {
    /** Counts one new execution. */
    add(row: RolledExecution): void {
      upsert.run(row.org_id, Math.floor(row.created_at / DAY_MS), row.repo_id, row.agent_type, 1, row.outcome === 'pass' ? 1 : 0, row.outcome === 'warn' ? 1 : 0, row.outcome === 'fail' ? 1 : 0, row.coverage)
    },
    /** Takes deleted executions back out, grouped so a large batch costs one statement per group. */
    remove(rows: RolledExecution[]): void {
      const groups = new Map<string, { org: string; day: number; repo: number; agent: string; n: number; pass: number; warn: number; fail: number; sum: number }>()
      for (const row of rows) {
        const day = Math.floor(row.created_at / DAY_MS)
        const key = `${row.org_id}\0${day}\0${row.repo_id}\0${row.agent_type}`
        let g = groups.get(key)
        if (!g) groups.set(key, (g = { org: row.org_id, day, repo: row.repo_id, agent: row.agent_type, n: 0, pass: 0, warn: 0, fail: 0, sum: 0 }))
        g.n++
        g[row.outcome]++
        g.sum += row.coverage
      }
      for (const g of groups.values()) {
        upsert.run(g.org, g.day, g.repo, g.agent, -g.n, -g.pass, -g.warn, -g.fail, -g.sum)
        prune.run(g.org, g.day, g.repo, g.agent)
      }
    },
    /** Recomputes every rollup from the executions table (for seeded or imported data). */
    rebuild(): void {
      q.transaction(() => {
        q.run('DELETE FROM daily_rollups')
        q.run(`INSERT INTO daily_rollups (org_id, day, repo_id, agent_type, executions, pass, warn, fail, coverage_sum)
               SELECT org_id, created_at / ${DAY_MS}, repo_id, agent_type, count(*), sum(outcome = 'pass'), sum(outcome = 'warn'), sum(outcome = 'fail'), sum(coverage)
               FROM executions GROUP BY 1, 2, 3, 4`)
      })()
    },
  }
}

export type Rollups = ReturnType<typeof createRollups>
