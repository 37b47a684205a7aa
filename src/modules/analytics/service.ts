import type { Db } from '../../db/client'
import { isoSeconds } from '../../lib/clock'
import { encodeTime } from 'ulidx'
import { DAY_MS } from './rollups'
import { FIRST_IN_WINDOW, LATEST_BEFORE } from '../executions/queries'

const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places


/**
 * Organisation analytics over a window of whole UTC days ending today. Counts come from `daily_rollups`
 * (days × repos × agents rows, however long the history); each repository's first and latest coverage in
 * the window come from its (repo_id, id) index, since execution ids sort by creation time.
 */
export function createAnalytics(db: Db) {
  /** A statement of this report, run with its parameters on whichever backend `db` is. */
  const statement = <T,>(text: string) => ({
    all: (...args: unknown[]) => db.all<T>(text, args),
    get: (...args: unknown[]) => db.get<T>(text, args),
  })
  const repoId = statement<{ id: number }>('SELECT id FROM repositories WHERE org_id = ? AND name = ?')
  const filter = (withRepo: boolean) => `org_id = ? AND day >= ? AND day <= ?${withRepo ? ' AND repo_id = ?' : ''}`
  const sums = 'sum(executions) AS executions, sum(pass) AS pass, sum(warn) AS warn, sum(fail) AS fail'
  const build = (withRepo: boolean) => ({
    daily: statement<{ day: number; executions: number; pass: number; warn: number; fail: number; coverage_sum: number }>(
      `SELECT day, ${sums}, sum(coverage_sum) AS coverage_sum FROM daily_rollups WHERE ${filter(withRepo)} GROUP BY day`,
    ),
    agents: statement<{ agent_type: string; executions: number; fail: number }>(
      `SELECT agent_type, ${sums} FROM daily_rollups WHERE ${filter(withRepo)} GROUP BY agent_type ORDER BY executions DESC, agent_type`,
    ),
    repos: statement<{ repo_id: number; name: string; executions: number; fail: number }>(
      `SELECT d.repo_id, r.name, d.executions, d.fail FROM (SELECT repo_id, ${sums} FROM daily_rollups WHERE ${filter(withRepo)} GROUP BY repo_id) d
       JOIN repositories r ON r.id = d.repo_id ORDER BY r.name`,
    ),
  })
  const all = build(false)
  const one = build(true)
  // Ids carry their creation time, so the scan for the first run in the window starts at the window's
  // id prefix; `created_at` settles ids minted under a clock that had moved backwards.
  const first = statement<{ coverage: number }>(FIRST_IN_WINDOW)
  const latest = statement<{ coverage: number }>(LATEST_BEFORE)

  return {
    async report(orgId: string, now: number, days: number, repo?: string) {
      const today = Math.floor(now / DAY_MS)
      const firstDay = today - (days - 1)
      const from = firstDay * DAY_MS
      const window = { from: isoSeconds(from), to: isoSeconds(now), days }
      let stmts = all
      const args: (string | number)[] = [orgId, firstDay, today]
      if (repo !== undefined) {
        const id = (await repoId.get(orgId, repo))?.id
        stmts = one
        args.push(id ?? -1)
      }
      const byDay = new Map((await stmts.daily.all(...args)).map((row) => [row.day, row]))
      const daily = []
      const totals = { executions: 0, pass: 0, warn: 0, fail: 0, repos: 0 }
      for (let day = firstDay; day <= today; day++) {
        const row = byDay.get(day)
        daily.push({
          date: new Date(day * DAY_MS).toISOString().slice(0, 10),
          executions: row?.executions ?? 0,
          pass: row?.pass ?? 0,
          warn: row?.warn ?? 0,
          fail: row?.fail ?? 0,
          avg_coverage: row ? round(row.coverage_sum / row.executions, 2) : null,
        })
        if (row) {
          totals.executions += row.executions
          totals.pass += row.pass
          totals.warn += row.warn
          totals.fail += row.fail
        }
      }
      const fromId = `exe_${encodeTime(from, 10).toLowerCase()}`
      const repos = await Promise.all((await stmts.repos.all(...args)).map(async (row) => {
        const last = (await latest.get(row.repo_id, row.repo_id, now))?.coverage ?? 0
        const start = (await first.get(row.repo_id, fromId, row.repo_id, from))?.coverage ?? last
        return {
          repo: row.name,
          latest_coverage: last,
          coverage_change: round(last - start, 2),
          executions: row.executions,
          fail_rate: round(row.fail / row.executions, 4),
        }
      }))
      totals.repos = repos.length
      const agents = (await stmts.agents.all(...args)).map((row) => ({
        agent_type: row.agent_type,
        executions: row.executions,
        fail_rate: round(row.fail / row.executions, 4),
      }))
      return { window, totals, repos, daily, agents }
    },
  }
}

export type Analytics = ReturnType<typeof createAnalytics>
