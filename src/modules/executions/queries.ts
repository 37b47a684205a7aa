import { all, get, run, type Step } from '../../db/work'
import type { executions, repositories, Row } from '../../db/schema'
import type { ExecutionRow } from './format'

export type RepoRow = Pick<Row<typeof repositories.$inferSelect>, 'id' | 'created_at' | 'execution_count' | 'version'>

/** One new execution, by column name: `insertExecution` binds it by these names, never by position. */
export type ExecutionInsert = Omit<Row<typeof executions.$inferSelect>, 'token_id'> & { token_id: string }

const EXECUTION_COLUMNS = [
  'id', 'repo_id', 'org_id', 'branch', 'outcome', 'delta', 'coverage', 'baseline', 'warn_threshold', 'fail_threshold',
  'strict_mode', 'commit', 'run_at', 'agent_type', 'token_id', 'created_at',
] as const satisfies readonly (keyof ExecutionInsert)[]
const ROW_PLACEHOLDERS = `(${EXECUTION_COLUMNS.map(() => '?').join(', ')})`
const insertText = (rows: number) => `INSERT INTO executions (${EXECUTION_COLUMNS.map((c) => `"${c}"`).join(', ')}) VALUES ${Array(rows).fill(ROW_PLACEHOLDERS).join(', ')}`
const INSERT_EXECUTION = insertText(1)
/**
 * Multi-row inserts come in power-of-two sizes up to 256 rows (4,096 parameters): a batch of 37 is 32 + 4 + 1,
 * so the statements cached by their text (and prepared by PostgreSQL) are nine, whatever the batch sizes.
 */
const INSERT_MANY = Array.from({ length: 9 }, (_, i) => insertText(2 ** i))

function* insertMany(rows: readonly ExecutionInsert[]): Step<void> {
  for (let at = 0; at < rows.length; ) {
    const size = 2 ** Math.min(8, Math.floor(Math.log2(rows.length - at)))
    const params: unknown[] = []
    for (const row of rows.slice(at, at + size)) for (const c of EXECUTION_COLUMNS) params.push(row[c])
    yield* run(INSERT_MANY[Math.log2(size)]!, params)
    at += size
  }
}

// `CAST(? AS TEXT)`: PostgreSQL must know a selected parameter's type.
const LIST_COLUMNS = 'e.id, CAST(? AS TEXT) AS repo, e.branch, e.outcome, e.delta, e.coverage, e.baseline, e."commit", e.created_at'

/*
 * One repository's runs in id order, written so PostgreSQL reads them from the (repo_id, id) index.
 * Asked as `repo_id = ? ORDER BY id DESC LIMIT 1`, its planner may instead walk the primary key back from
 * the newest run of *any* repository, filtering by repo_id: it expects a big repository's rows to be
 * spread evenly, so it expects to find one at once. When another repository wrote the newest rows, it
 * walks all of them: on the bench seed that was 357 ms for the latest run of the 1M-row repository
 * behind 373k newer runs of another, and 0.08 ms this way. A range of one value on repo_id, ordered by
 * (repo_id, id), can only be answered from that index (SQLite reads it the same way).
 * tests/postgres-plans.test.ts checks each such statement's plan.
 */
/** `repo_id` is the one value `repo` (a parameter `?`, bound twice, or a column such as `r.id`). */
export const ofRepo = (repo = '?') => `repo_id BETWEEN ${repo} AND ${repo}`
export const NEWEST_FIRST = 'ORDER BY repo_id DESC, id DESC'
export const OLDEST_FIRST = 'ORDER BY repo_id, id'
/** The same for one branch: a one-value range on `branch` after `repo_id =`, read from the (repo_id, branch, id) index. */
export const onBranch = (repo = '?', branch = '?') => `repo_id = ${repo} AND branch BETWEEN ${branch} AND ${branch}`
export const NEWEST_ON_BRANCH = 'ORDER BY branch DESC, id DESC'
export const LATEST_ID = `SELECT id FROM executions WHERE ${ofRepo()} ${NEWEST_FIRST} LIMIT 1`

/*
 * The reads other features make of executions, owned here with the index-only rule above: badges and trend
 * graphs (`LATEST_ON`, `LAST_ON`, `LAST_ANY`, and the fragments of the badge's one statement), the
 * repository view (`LATEST_RUN`, `LATEST_RUN_ON`), analytics (`FIRST_IN_WINDOW`, `LATEST_BEFORE`) and the
 * retention sweep (`EXPIRED_BATCH`).
 */
/** One column (coverage, time, outcome) of the latest run on a repository's default branch, and on any branch, as subselects of `repositories r`. */
export const latestOnDefault = (column: 'coverage' | 'created_at' | 'outcome') => `(SELECT ${column} FROM executions WHERE ${onBranch('r.id', 'r.default_branch')} ${NEWEST_ON_BRANCH} LIMIT 1)`
export const latestAnyBranch = (column: 'coverage' | 'created_at' | 'outcome') => `(SELECT ${column} FROM executions WHERE ${ofRepo('r.id')} ${NEWEST_FIRST} LIMIT 1)`
/** The last n runs on any branch, newest first (a trend graph of a repository without a default-branch run). */
export const LAST_ANY = `SELECT coverage, baseline, outcome, created_at FROM executions WHERE ${ofRepo()} ${NEWEST_FIRST} LIMIT ?`
/** The latest run, and the last n runs, on one branch. */
export const LATEST_ON = `SELECT coverage, created_at, outcome FROM executions WHERE ${onBranch()} ${NEWEST_ON_BRANCH} LIMIT 1`
export const LAST_ON = `SELECT coverage, baseline, outcome, created_at FROM executions WHERE ${onBranch()} ${NEWEST_ON_BRANCH} LIMIT ?`
/** The latest run (coverage and time) on one branch, and on any branch. */
export const LATEST_RUN_ON = `SELECT coverage, created_at FROM executions WHERE ${onBranch()} ${NEWEST_ON_BRANCH} LIMIT 1`
export const LATEST_RUN = `SELECT coverage, created_at FROM executions WHERE ${ofRepo()} ${NEWEST_FIRST} LIMIT 1`
/** A repository's first run in a window (ids carry their creation time), and its latest run by a time. */
export const FIRST_IN_WINDOW = `SELECT coverage FROM executions WHERE (repo_id, id) >= (?, ?) AND (repo_id, id) < (?, 'exe_~') AND created_at >= ? ${OLDEST_FIRST} LIMIT 1`
export const LATEST_BEFORE = `SELECT coverage FROM executions WHERE ${ofRepo()} AND created_at <= ? ${NEWEST_FIRST} LIMIT 1`
/** One batch of an organisation's runs older than a cutoff, deleted, with what the counters and rollups need. */
export const EXPIRED_BATCH = `DELETE FROM executions WHERE id IN (SELECT id FROM executions WHERE org_id = ? AND created_at < ? LIMIT ?)
       RETURNING org_id, repo_id, created_at, agent_type, outcome, coverage`

export const REPO_BY_NAME = 'SELECT id, created_at, execution_count, version FROM repositories WHERE org_id = ? AND name = ?'
export type PageOrder = 'asc' | 'desc'
type PagePath = 'repo' | 'branch' | 'commit' | 'commit+branch'
/** Each access path's index columns: the page is a range of row values over them. */
const PAGE_KEYS: Record<PagePath, string[]> = { repo: ['repo_id', 'id'], branch: ['repo_id', 'branch', 'id'], commit: ['repo_id', '"commit"', 'id'], 'commit+branch': ['repo_id', '"commit"', 'id'] }

/*
 * A page of one repository's runs with ids strictly between two bounds (a cursor, and the ids a time window
 * maps to: ids begin with their time), in either order: all runs, one branch's or one commit's. The bounds
 * are row values over the access path's index, `(repo_id, id) > (?, ?) AND (repo_id, id) < (?, ?)`: both
 * databases start the index scan at the lower bound and stop at the upper, so a page costs the same at the
 * newest run and a millionth back. (`repo_id BETWEEN ? AND ? AND id > ?` lets SQLite position on repo_id
 * only: a cursor a million runs deep read its way there, 140-180 ms a page.) Ordered by the same columns,
 * so PostgreSQL cannot answer it by walking the primary key either. tests/system/postgres-plans.test.ts
 * checks every variant's plan on PostgreSQL, tests/system/sqlite-plans.test.ts on SQLite.
 */
export function pageText(order: PageOrder, by: PagePath): string {
  const keys = PAGE_KEYS[by]
  const row = `(${keys.join(', ')})`
  const bound = `(${keys.map(() => '?').join(', ')})`
  const orderBy = keys.map((key) => (order === 'desc' ? `${key} DESC` : key)).join(', ')
  return `SELECT ${LIST_COLUMNS} FROM executions e WHERE ${row} > ${bound} AND ${row} < ${bound}${by === 'commit+branch' ? ' AND branch = ?' : ''} ORDER BY ${orderBy} LIMIT ?`
}
export const PAGE = pageText('desc', 'repo')

/** The newest run of one branch, or of one commit, with its thresholds (`GET /v1/compare`). */
export const LATEST_OF_BRANCH = `SELECT ${LIST_COLUMNS}, e.warn_threshold, e.fail_threshold FROM executions e WHERE (repo_id, branch, id) > (?, ?, 'exe_') AND (repo_id, branch, id) < (?, ?, 'exe_~') ORDER BY repo_id DESC, branch DESC, id DESC LIMIT 1`
export const LATEST_OF_COMMIT = `SELECT ${LIST_COLUMNS}, e.warn_threshold, e.fail_threshold FROM executions e WHERE (repo_id, "commit", id) > (?, ?, 'exe_') AND (repo_id, "commit", id) < (?, ?, 'exe_~') ORDER BY repo_id DESC, "commit" DESC, id DESC LIMIT 1`
export type RunWithThresholds = ExecutionRow & { warn_threshold: number; fail_threshold: number }
export const BRANCH_PAGE = pageText('desc', 'branch')
/** Runs after one, oldest first (a stream's replay and catch-up): the page statement with no upper bound. */
export const AFTER = pageText('asc', 'repo')

/** The executions feature's SQL, one statement per function; each runs on either backend (see db/work.ts). */
export const executionQueries = {
  repoByName: (orgId: string, name: string) => get<RepoRow>(REPO_BY_NAME, [orgId, name]),
  countRepos: (orgId: string) => get<{ n: number }>('SELECT count(*) AS n FROM repositories WHERE org_id = ?', [orgId]),
  reposBefore: (orgId: string, repo: RepoRow) =>
    get<{ n: number }>('SELECT count(*) AS n FROM repositories WHERE org_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))', [
      orgId, repo.created_at, repo.created_at, repo.id,
    ]),
  /** Null when a concurrent request registered the same name first (the caller reads that one). */
  insertRepo: (orgId: string, name: string, now: number) =>
    get<{ id: number }>('INSERT INTO repositories (org_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (org_id, name) DO NOTHING RETURNING id', [orgId, name, now]),
  insertExecution: (row: ExecutionInsert): Step<number> => run(INSERT_EXECUTION, EXECUTION_COLUMNS.map((c) => row[c])),
  /** Several new executions in as few statements as their number's binary digits (see INSERT_MANY). */
  insertExecutions: insertMany,
  addToCounter: (repoId: number, n: number) => run('UPDATE repositories SET execution_count = execution_count + ?, version = version + 1 WHERE id = ?', [n, repoId]),
  findKey: (orgId: string, key: string) =>
    get<{ request_hash: string; execution_id: string }>('SELECT request_hash, execution_id FROM idempotency_keys WHERE org_id = ? AND key = ?', [orgId, key]),
  /** Claims the key for this run; false when it is taken (by an earlier run, or a concurrent one that has now committed). */
  *claimKey(orgId: string, key: string, requestHash: string, executionId: string, now: number): Step<boolean> {
    const n = yield* run('INSERT INTO idempotency_keys (org_id, key, request_hash, execution_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (org_id, key) DO NOTHING', [
      orgId, key, requestHash, executionId, now,
    ])
    return n > 0
  },
  reassignKey: (orgId: string, key: string, requestHash: string, executionId: string, now: number) =>
    run('UPDATE idempotency_keys SET request_hash = ?, execution_id = ?, created_at = ? WHERE org_id = ? AND key = ?', [requestHash, executionId, now, orgId, key]),
  byId: (id: string) =>
    get<ExecutionRow>(
      'SELECT e.id, r.name AS repo, e.branch, e.outcome, e.delta, e.coverage, e.baseline, e."commit", e.created_at FROM executions e JOIN repositories r ON r.id = e.repo_id WHERE e.id = ?',
      [id],
    ),
  latestOfBranch: (repoName: string, repoId: number, branch: string) => get<RunWithThresholds>(LATEST_OF_BRANCH, [repoName, repoId, branch, repoId, branch]),
  latestOfCommit: (repoName: string, repoId: number, commit: string) => get<RunWithThresholds>(LATEST_OF_COMMIT, [repoName, repoId, commit, repoId, commit]),
  /** Runs with `above < id < below`, `limit` of them, in `order`, of the repository or one branch or one commit. */
  page: (repoName: string, repoId: number, filter: { branch?: string; commit?: string }, above: string, below: string, order: PageOrder, limit: number) => {
    const { branch, commit } = filter
    if (commit !== undefined) {
      if (branch === undefined) return all<ExecutionRow>(pageText(order, 'commit'), [repoName, repoId, commit, above, repoId, commit, below, limit])
      return all<ExecutionRow>(pageText(order, 'commit+branch'), [repoName, repoId, commit, above, repoId, commit, below, branch, limit])
    }
    if (branch !== undefined) return all<ExecutionRow>(pageText(order, 'branch'), [repoName, repoId, branch, above, repoId, branch, below, limit])
    return all<ExecutionRow>(pageText(order, 'repo'), [repoName, repoId, above, repoId, below, limit])
  },
  after: (repoName: string, repoId: number, id: string, limit: number) => all<ExecutionRow>(AFTER, [repoName, repoId, id, repoId, 'exe_~', limit]),
  latest: (repoId: number) => get<{ id: string }>(LATEST_ID, [repoId, repoId]),
}
