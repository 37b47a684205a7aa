import type { Db } from '../../db/client'
import { isoSeconds } from '../../lib/clock'

const DAY_MS = 86_400_000

const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places

interface Counts {
  executions: number
  pass: number
  warn: number
  fail: number
}

/**
 * Organisation analytics over a window of whole UTC days ending today, computed by SQL aggregates on
 * the (org_id, created_at) index; per-repository first and last coverage come from the (repo_id, id)
 * index, since execution ids sort by creation time.
 */
export function createAnalytics(db: Db) {
  const q = db.sqlite
  const repoId = q.prepare<{ id: number }, [string, string]>('SELECT id FROM repositories WHERE org_id = ? AND name = ?')
  const filter = (withRepo: boolean) => `org_id = ? AND created_at >= ? AND created_at <= ?${withRepo ? ' AND repo_id = ?' : ''}`
  const outcomeSums = `count(*) AS executions, sum(outcome = 'pass') AS pass, sum(outcome = 'warn') AS warn, sum(outcome = 'fail') AS fail`
  const build = (withRepo: boolean) => ({
    daily: q.prepare<Counts & { day: number; avg_coverage: number }, any[]>(
      `SELECT created_at / ${DAY_MS} AS day, ${outcomeSums}, avg(coverage) AS avg_coverage FROM executions WHERE ${filter(withRepo)} GROUP BY day`,
    ),
    agents: q.prepare<{ agent_type: string; executions: number; fail: number }, any[]>(
      `SELECT agent_type, count(*) AS executions, sum(outcome = 'fail') AS fail FROM executions WHERE ${filter(withRepo)} GROUP BY agent_type ORDER BY executions DESC, agent_type`,
    ),
    repos: q.prepare<{ repo_id: number; name: string; executions: number; fail: number; first_id: string; last_id: string }, any[]>(
      `SELECT e.repo_id, r.name, e.executions, e.fail, e.first_id, e.last_id FROM (
         SELECT repo_id, count(*) AS executions, sum(outcome = 'fail') AS fail, min(id) AS first_id, max(id) AS last_id
           FROM executions WHERE ${filter(withRepo)} GROUP BY repo_id) e
       JOIN repositories r ON r.id = e.repo_id ORDER BY r.name`,
    ),
  })
  const all = build(false)
  const one = build(true)
  const coverageOf = q.prepare<{ coverage: number }, [string]>('SELECT coverage FROM executions WHERE id = ?')

  return {
    report(orgId: string, now: number, days: number, repo?: string) {
      const firstDay = Math.floor(now / DAY_MS) - (days - 1)
      const from = firstDay * DAY_MS
      const window = { from: isoSeconds(from), to: isoSeconds(now), days }
      let stmts = all
      const args: (string | number)[] = [orgId, from, now]
      if (repo !== undefined) {
        const id = repoId.get(orgId, repo)?.id
        if (id === undefined) return empty(window, days, firstDay)
        stmts = one
        args.push(id)
      }
      const byDay = new Map(stmts.daily.all(...args).map((row) => [row.day, row]))
      const daily = []
      const totals = { executions: 0, pass: 0, warn: 0, fail: 0, repos: 0 }
      for (let day = firstDay; day < firstDay + days; day++) {
        const row = byDay.get(day)
        daily.push({
          date: new Date(day * DAY_MS).toISOString().slice(0, 10),
          executions: row?.executions ?? 0,
          pass: row?.pass ?? 0,
          warn: row?.warn ?? 0,
          fail: row?.fail ?? 0,
          avg_coverage: row ? round(row.avg_coverage, 2) : null,
        })
        if (row) {
          totals.executions += row.executions
          totals.pass += row.pass
          totals.warn += row.warn
          totals.fail += row.fail
        }
      }
      const repos = stmts.repos.all(...args).map((row) => {
        const latest = coverageOf.get(row.last_id)!.coverage
        const first = coverageOf.get(row.first_id)!.coverage
        return {
          repo: row.name,
          latest_coverage: latest,
          coverage_change: round(latest - first, 2),
          executions: row.executions,
          fail_rate: round(row.fail / row.executions, 4),
        }
      })
      totals.repos = repos.length
      const agents = stmts.agents.all(...args).map((row) => ({
        agent_type: row.agent_type,
        executions: row.executions,
        fail_rate: round(row.fail / row.executions, 4),
      }))
      return { window, totals, repos, daily, agents }
    },
  }

  function empty(window: { from: string; to: string; days: number }, days: number, firstDay: number) {
    const daily = Array.from({ length: days }, (_, i) => ({
      date: new Date((firstDay + i) * DAY_MS).toISOString().slice(0, 10),
      executions: 0, pass: 0, warn: 0, fail: 0, avg_coverage: null,
    }))
    return { window, totals: { executions: 0, pass: 0, warn: 0, fail: 0, repos: 0 }, repos: [], daily, agents: [] }
  }
}

export type Analytics = ReturnType<typeof createAnalytics>
