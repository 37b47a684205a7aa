import type { Database } from 'bun:sqlite'
import type { ExecutionRow } from './format'

export interface RepoRow {
  id: number
  created_at: number
  execution_count: number
  version: number
}

/** One new execution, bound by column name (named parameters: no 16-value positional list to keep in order). */
export type ExecutionInsert = {
  id: string
  repo_id: number
  org_id: string
  branch: string
  outcome: string
  delta: number
  coverage: number
  baseline: number | null
  warn_threshold: number
  fail_threshold: number
  strict_mode: number
  commit: string | null
  run_at: number | null
  agent_type: string
  token_id: string
  created_at: number
}

const LIST_COLUMNS = 'e.id, ? AS repo, e.branch, e.outcome, e.delta, e.coverage, e.baseline, e."commit", e.created_at'

/** The executions feature's SQL, prepared once (a prepared statement costs microseconds; a built query tens of them). */
export function createExecutionQueries(q: Database) {
  return {
    repoByName: q.prepare<RepoRow, [string, string]>('SELECT id, created_at, execution_count, version FROM repositories WHERE org_id = ? AND name = ?'),
    countRepos: q.prepare<{ n: number }, [string]>('SELECT count(*) AS n FROM repositories WHERE org_id = ?'),
    reposBefore: q.prepare<{ n: number }, [string, number, number, number]>(
      'SELECT count(*) AS n FROM repositories WHERE org_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))',
    ),
    insertRepo: q.prepare<{ id: number }, [string, string, number]>('INSERT INTO repositories (org_id, name, created_at) VALUES (?, ?, ?) RETURNING id'),
    insertExecution: q.prepare<unknown, [ExecutionInsert]>(
      `INSERT INTO executions (id, repo_id, org_id, branch, outcome, delta, coverage, baseline, warn_threshold, fail_threshold,
         strict_mode, "commit", run_at, agent_type, token_id, created_at)
       VALUES ($id, $repo_id, $org_id, $branch, $outcome, $delta, $coverage, $baseline, $warn_threshold, $fail_threshold,
         $strict_mode, $commit, $run_at, $agent_type, $token_id, $created_at)`,
    ),
    bumpCounter: q.prepare<unknown, [number]>('UPDATE repositories SET execution_count = execution_count + 1, version = version + 1 WHERE id = ?'),
    findKey: q.prepare<{ request_hash: string; execution_id: string }, [string, string]>(
      'SELECT request_hash, execution_id FROM idempotency_keys WHERE org_id = ? AND key = ?',
    ),
    deleteKey: q.prepare<unknown, [string, string]>('DELETE FROM idempotency_keys WHERE org_id = ? AND key = ?'),
    insertKey: q.prepare<unknown, [string, string, string, string, number]>(
      'INSERT INTO idempotency_keys (org_id, key, request_hash, execution_id, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    byId: q.prepare<ExecutionRow, [string]>(
      'SELECT e.id, r.name AS repo, e.branch, e.outcome, e.delta, e.coverage, e.baseline, e."commit", e.created_at FROM executions e JOIN repositories r ON r.id = e.repo_id WHERE e.id = ?',
    ),
    page: q.prepare<ExecutionRow, [string, number, string, number]>(
      `SELECT ${LIST_COLUMNS} FROM executions e WHERE e.repo_id = ? AND e.id < ? ORDER BY e.id DESC LIMIT ?`,
    ),
    branchPage: q.prepare<ExecutionRow, [string, number, string, string, number]>(
      `SELECT ${LIST_COLUMNS} FROM executions e WHERE e.repo_id = ? AND e.branch = ? AND e.id < ? ORDER BY e.id DESC LIMIT ?`,
    ),
    after: q.prepare<ExecutionRow, [string, number, string, number]>(
      `SELECT ${LIST_COLUMNS} FROM executions e WHERE e.repo_id = ? AND e.id > ? ORDER BY e.id ASC LIMIT ?`,
    ),
    latest: q.prepare<{ id: string }, [number]>('SELECT id FROM executions WHERE repo_id = ? ORDER BY id DESC LIMIT 1'),
  }
}

export type ExecutionQueries = ReturnType<typeof createExecutionQueries>
