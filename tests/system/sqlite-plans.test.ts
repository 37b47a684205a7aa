import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { openDatabase } from '../../src/db/sqlite'
import { AFTER, FIRST_IN_WINDOW, LATEST_OF_BRANCH, LATEST_OF_COMMIT, pageText } from '../../src/modules/executions/queries'
import { onPostgres } from '../helpers/db'

/*
 * How SQLite positions a page of one repository's runs (see `pageText` in executions/queries.ts): the scan
 * must start at the page's lower bound and stop at its upper one, both of them on the index, so a cursor a
 * million runs deep costs what the first page costs. Written as `repo_id BETWEEN ? AND ? AND id > ?`, SQLite
 * positions on repo_id only and reads every run before the cursor (140-180 ms a page at 1M runs).
 */
describe.skipIf(onPostgres)('SQLite plans for pages of one repository', () => {
  test('every page, catch-up and window statement is a range over its index on both bounds', () => {
    const db = openDatabase(':memory:')
    const sqlite = db.sqlite as Database
    const plan = (text: string) => (sqlite.query(`EXPLAIN QUERY PLAN ${text}`).all() as { detail: string }[]).map((row) => row.detail).join('; ')
    const bounded = {
      repo: /USING COVERING INDEX executions_repo_list_idx \(\(repo_id,id\)>\(\?,\?\) AND \(repo_id,id\)<\(\?,\?\)\)/,
      branch: /USING (COVERING )?INDEX executions_repo_branch_id_idx \(\(repo_id,branch,id\)>\(\?,\?,\?\) AND \(repo_id,branch,id\)<\(\?,\?,\?\)\)/,
      commit: /USING (COVERING )?INDEX executions_repo_commit_idx \(\(repo_id,"?commit"?,id\)>\(\?,\?,\?\) AND \(repo_id,"?commit"?,id\)<\(\?,\?,\?\)\)/,
    }
    const misplanned: string[] = []
    for (const order of ['asc', 'desc'] as const)
      for (const [by, shape] of [['repo', bounded.repo], ['branch', bounded.branch], ['commit', bounded.commit], ['commit+branch', bounded.commit]] as const) {
        const detail = plan(pageText(order, by))
        if (!shape.test(detail) || detail.includes('TEMP B-TREE')) misplanned.push(`${order} ${by}: ${detail}`)
      }
    if (!bounded.repo.test(plan(AFTER))) misplanned.push(`catch-up: ${plan(AFTER)}`)
    const literal = (text: string) => plan(text).replace(/'exe_~?'/g, '?')
    if (!/executions_repo_branch_id_idx \(\(repo_id,branch,id\)>\(\?,\?,\?\) AND \(repo_id,branch,id\)<\(\?,\?,\?\)\)/.test(literal(LATEST_OF_BRANCH))) misplanned.push(`compare branch: ${plan(LATEST_OF_BRANCH)}`)
    if (!/executions_repo_commit_idx \(\(repo_id,"?commit"?,id\)>\(\?,\?,\?\) AND \(repo_id,"?commit"?,id\)<\(\?,\?,\?\)\)/.test(literal(LATEST_OF_COMMIT))) misplanned.push(`compare commit: ${plan(LATEST_OF_COMMIT)}`)
    if (!/executions_repo_list_idx \(\(repo_id,id\)>\(\?,\?\) AND \(repo_id,id\)<\(\?,\?\)\)/.test(plan(FIRST_IN_WINDOW).replace('>=', '>'))) misplanned.push(`window start: ${plan(FIRST_IN_WINDOW)}`)
    expect(misplanned).toEqual([])
    // The form this replaced positions on repo_id alone, so the check above can fail.
    expect(plan('SELECT id FROM executions WHERE repo_id BETWEEN ? AND ? AND id > ? ORDER BY repo_id, id LIMIT 10')).toContain('(repo_id>? AND repo_id<?)')
  })
})
