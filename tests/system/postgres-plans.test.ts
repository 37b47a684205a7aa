import { describe, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { BADGE_ROW } from '../../src/modules/badges/service'
import { AFTER, BRANCH_PAGE, FIRST_IN_WINDOW, LAST_ANY, LAST_ON, LATEST_BEFORE, LATEST_ID, LATEST_ON, LATEST_RUN, LATEST_RUN_ON, LATEST_OF_BRANCH, LATEST_OF_COMMIT, PAGE, pageText } from '../../src/modules/executions/queries'
import { freshPostgres, onPostgres, urlFor } from '../helpers/db'

/*
 * How PostgreSQL reads "the newest runs of one repository" (see `ofRepo` in executions/queries.ts). A big
 * repository whose runs are all older than another repository's: asked plainly, the planner walks the
 * primary key back through the other repository's newer runs; every statement of the server reads the
 * (repo_id, id) index instead. Checked by the plan's own count of rows it read and threw away.
 */

type Plan = { 'Rows Removed by Filter'?: number; 'Actual Rows'?: number; Plans?: Plan[] }
const discarded = (plan: Plan): number => (plan['Rows Removed by Filter'] ?? 0) + (plan.Plans ?? []).reduce((sum, p) => sum + discarded(p), 0)
const numbered = (text: string) => {
  let n = 0
  return text.replace(/\?/g, () => `$${++n}`)
}

describe.skipIf(!onPostgres)('PostgreSQL plans for one repository’s newest runs', () => {
  test('a quiet big repository behind a busy one: each statement reads its own rows, not the newer ones of the other', async () => {
    const sql = new SQL(urlFor(await freshPostgres()), { max: 1 })
    try {
      await sql.unsafe("INSERT INTO organisations (id, slug, name, created_at) VALUES ('org_1', 'acme', 'acme', 0)")
      await sql.unsafe("INSERT INTO repositories (id, org_id, name, created_at) VALUES (1, 'org_1', 'quiet', 0), (2, 'org_1', 'busy', 0)")
      // 60,000 older runs of `quiet`, then 30,000 newer runs of `busy` (ids sort by time, as ULIDs do).
      const insert = (repo: number, from: number, count: number) =>
        sql.unsafe(`INSERT INTO executions (id, repo_id, org_id, branch, outcome, delta, coverage, warn_threshold, fail_threshold, "commit", created_at)
          SELECT 'exe_' || lpad(g::text, 12, '0'), ${repo}, 'org_1', 'feature', 'pass', 0, 50, 0.5, 1, CASE WHEN g % 1000 = 0 THEN 'c0ffee0' END, g
          FROM generate_series(${from}, ${from + count - 1}) AS g`)
      await insert(1, 1, 60_000)
      await insert(2, 100_000, 30_000)
      await sql.unsafe('ANALYZE executions')
      const readThrough = async (text: string, params: unknown[]) => {
        const [row] = await sql.unsafe(`EXPLAIN (ANALYZE, FORMAT JSON) ${numbered(text)}`, params)
        return discarded((row['QUERY PLAN'] as { Plan: Plan }[])[0]!.Plan)
      }

      // Every thousandth run of both is of commit c0ffee0.
      // The plain form reproduces the problem here, so the checks below can fail.
      expect(await readThrough('SELECT id FROM executions WHERE repo_id = ? ORDER BY id DESC LIMIT 1', [1])).toBeGreaterThanOrEqual(30_000)

      // `feature` holds all of `quiet`'s runs; its default branch, `main`, none.
      const statements: [string, string, unknown[]][] = [
        ['stream start (latest id)', LATEST_ID, [1, 1]],
        ['stream catch-up', AFTER, ['quiet', 1, 'exe_000000059990', 1, 'exe_~', 500]],
        ['list page', PAGE, ['quiet', 1, 'exe_', 1, 'exe_~', 10]],
        ['list page of a branch', BRANCH_PAGE, ['quiet', 1, 'feature', 'exe_', 1, 'feature', 'exe_~', 10]],
        ['list page of an empty branch', BRANCH_PAGE, ['quiet', 1, 'main', 'exe_', 1, 'main', 'exe_~', 10]],
        // Time windows are id ranges; oldest first reads the same indexes forwards; a commit has its own index.
        ['list page in an old window', PAGE, ['quiet', 1, 'exe_000000010000', 1, 'exe_000000010100', 10]],
        ['list page a cursor deep', PAGE, ['quiet', 1, 'exe_', 1, 'exe_000000000500', 10]],
        ['list page oldest first', pageText('asc', 'repo'), ['quiet', 1, 'exe_', 1, 'exe_~', 10]],
        ['list page oldest first from a late start', pageText('asc', 'repo'), ['quiet', 1, 'exe_000000059000', 1, 'exe_~', 10]],
        ['list page of a branch, oldest first, in a window', pageText('asc', 'branch'), ['quiet', 1, 'feature', 'exe_000000020000', 1, 'feature', 'exe_000000030000', 10]],
        ['list page of a commit', pageText('desc', 'commit'), ['quiet', 1, 'c0ffee0', 'exe_', 1, 'c0ffee0', 'exe_~', 10]],
        ['list page of a commit, oldest first', pageText('asc', 'commit'), ['quiet', 1, 'c0ffee0', 'exe_', 1, 'c0ffee0', 'exe_~', 10]],
        ['list page of a commit on a branch', pageText('desc', 'commit+branch'), ['quiet', 1, 'c0ffee0', 'exe_', 1, 'c0ffee0', 'exe_~', 'feature', 10]],
        ['repository view (latest run)', LATEST_RUN, [1, 1]],
        ['repository view (latest on a branch)', LATEST_RUN_ON, [1, 'feature', 'feature']],
        ['repository view (latest on an empty branch)', LATEST_RUN_ON, [1, 'main', 'main']],
        ['badge', BADGE_ROW, ['acme', 'quiet']],
        ['badge of a branch', LATEST_ON, [1, 'feature', 'feature']],
        ['trend (last runs on any branch)', LAST_ANY, [1, 1, 30]],
        ['trend of a branch', LAST_ON, [1, 'feature', 'feature', 30]],
        ['trend of an empty branch', LAST_ON, [1, 'main', 'main', 30]],
        ['compare (newest run of a branch)', LATEST_OF_BRANCH, ['quiet', 1, 'feature', 1, 'feature']],
        ['compare (newest run of a commit)', LATEST_OF_COMMIT, ['quiet', 1, 'c0ffee0', 1, 'c0ffee0']],
        ['analytics (latest run by now)', LATEST_BEFORE, [1, 1, 1_000_000]],
        ['analytics (first run in the window)', FIRST_IN_WINDOW, [1, 'exe_', 1, 0]],
        ['analytics (first run in a late window)', FIRST_IN_WINDOW, [1, 'exe_000000059000', 1, 59_000]],
      ]
      // Both as planned for these values and as a generic plan (what a prepared statement may settle on).
      const misread: string[] = []
      for (const mode of ['auto', 'force_generic_plan']) {
        await sql.unsafe(`SET plan_cache_mode = ${mode}`)
        for (const [what, text, params] of statements) {
          const rows = await readThrough(text, params)
          if (rows > 0) misread.push(`${what} (${mode}): ${rows} rows read and discarded`)
        }
      }
      expect(misread).toEqual([])
    } finally {
      await sql.close()
    }
  }, 30_000)
})
