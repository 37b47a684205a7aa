import type { Db } from '../../db/client'
import type { Outcome, Plan } from '../../db/schema'
import type { Clock } from '../../lib/clock'
import { sha256Hex } from '../../lib/hash'
import { executionId } from '../../lib/ids'
import { HttpError, paymentRequired } from '../../http/errors'
import { Lru } from '../../lib/lru'
import { createRollups } from '../analytics/rollups'
import { PLAN_LIMITS } from '../plans'
import { streamKey, type ExecutionBus } from './bus'
import { decodeCursor, encodeCursor, executionView, outcomeFor, roundDelta, type ExecutionRow, type ExecutionView } from './format'

export interface ExecutionInput {
  repo: string
  branch: string
  coverage: number
  baseline?: number
  delta?: number
  outcome?: Outcome
  warn_threshold?: number
  fail_threshold?: number
  strict_mode?: boolean
  commit?: string
  timestamp?: string
}

export interface Submitter {
  orgId: string
  plan: Plan
  tokenId: string
  agentType: string
}

const DEFAULT_WARN = 0.5
const DEFAULT_FAIL = 1.0
const NO_CURSOR = 'exe_~'
const badCursor = () => new HttpError(400, 'invalid query: cursor is not a cursor this API returned')
const EMPTY_LIST = JSON.stringify({ executions: [], total: 0, next_cursor: null })

interface RepoRow {
  id: number
  created_at: number
  execution_count: number
  version: number
}

interface Pending {
  who: Submitter
  input: ExecutionInput
  key: string | null
  requestHash: string
  resolve: (value: { row: ExecutionRow; replayed: boolean; repoId: number }) => void
  reject: (error: unknown) => void
}

/** Cached first pages (and cursor pages): about 2.5 KB each. */
const LIST_CACHE_ENTRIES = 2000

/** Prepared statements for the hot paths (a prepared statement costs microseconds; a built query tens of them). */
export function createExecutionStore(db: Db, clock: Clock, bus: ExecutionBus, onIngest?: () => void) {
  const q = db.sqlite
  const rollups = createRollups(q)
  const repoByName = q.prepare<RepoRow, [string, string]>('SELECT id, created_at, execution_count, version FROM repositories WHERE org_id = ? AND name = ?')
  const countRepos = q.prepare<{ n: number }, [string]>('SELECT count(*) AS n FROM repositories WHERE org_id = ?')
  const reposBefore = q.prepare<{ n: number }, [string, number, number, number]>(
    'SELECT count(*) AS n FROM repositories WHERE org_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))',
  )
  const insertRepo = q.prepare<{ id: number }, [string, string, number]>(
    'INSERT INTO repositories (org_id, name, created_at) VALUES (?, ?, ?) RETURNING id',
  )
  const insertExecution = q.prepare<
    unknown,
    [string, number, string, string, string, number, number, number | null, number, number, number, string | null, number | null, string, string, number]
  >(
    `INSERT INTO executions (id, repo_id, org_id, branch, outcome, delta, coverage, baseline, warn_threshold, fail_threshold,
       strict_mode, "commit", run_at, agent_type, token_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
  const bumpCounter = q.prepare<unknown, [number]>('UPDATE repositories SET execution_count = execution_count + 1, version = version + 1 WHERE id = ?')
  const findKey = q.prepare<{ request_hash: string; execution_id: string }, [string, string]>(
    'SELECT request_hash, execution_id FROM idempotency_keys WHERE org_id = ? AND key = ?',
  )
  const insertKey = q.prepare<unknown, [string, string, string, string, number]>(
    'INSERT INTO idempotency_keys (org_id, key, request_hash, execution_id, created_at) VALUES (?, ?, ?, ?, ?)',
  )
  const COLUMNS = 'e.id, r.name AS repo, e.branch, e.outcome, e.delta, e.coverage, e.baseline, e."commit", e.created_at'
  const byId = q.prepare<ExecutionRow, [string]>(`SELECT ${COLUMNS} FROM executions e JOIN repositories r ON r.id = e.repo_id WHERE e.id = ?`)
  const page = q.prepare<ExecutionRow, [string, number, string, number]>(
    `SELECT e.id, ? AS repo, e.branch, e.outcome, e.delta, e.coverage, e.baseline, e."commit", e.created_at
       FROM executions e WHERE e.repo_id = ? AND e.id < ? ORDER BY e.id DESC LIMIT ?`,
  )
  const branchPage = q.prepare<ExecutionRow, [string, number, string, string, number]>(
    `SELECT e.id, ? AS repo, e.branch, e.outcome, e.delta, e.coverage, e.baseline, e."commit", e.created_at
       FROM executions e WHERE e.repo_id = ? AND e.branch = ? AND e.id < ? ORDER BY e.id DESC LIMIT ?`,
  )
  const after = q.prepare<ExecutionRow, [string, number, string, number]>(
    `SELECT e.id, ? AS repo, e.branch, e.outcome, e.delta, e.coverage, e.baseline, e."commit", e.created_at
       FROM executions e WHERE e.repo_id = ? AND e.id > ? ORDER BY e.id ASC LIMIT ?`,
  )

  const latest = q.prepare<{ id: string }, [number]>('SELECT id FROM executions WHERE repo_id = ? ORDER BY id DESC LIMIT 1')

  function enforceRepoCap(orgId: string, plan: Plan, repo: RepoRow | null): void {
    const limit = PLAN_LIMITS[plan].repos
    if (limit === null) return
    const used = countRepos.get(orgId)!.n
    const refuse = () => paymentRequired(`repository limit reached for your plan (${used}/${limit} repos used)`)
    if (repo === null) {
      if (used >= limit) throw refuse()
      return
    }
    // After a downgrade the oldest `limit` repositories keep accepting runs; newer ones are refused.
    if (used > limit && reposBefore.get(orgId, repo.created_at, repo.created_at, repo.id)!.n >= limit) throw refuse()
  }

  const ingest = q.transaction((who: Submitter, input: ExecutionInput, key: string | null, requestHash: string) => {
    if (key !== null) {
      const seen = findKey.get(who.orgId, key)
      if (seen) {
        if (seen.request_hash !== requestHash)
          throw new HttpError(422, 'Idempotency-Key was already used with a different request body')
        const row = byId.get(seen.execution_id)
        if (row) return { row, replayed: true, repoId: 0 }
      }
    }
    const now = clock.now()
    const existing = repoByName.get(who.orgId, input.repo) ?? null
    enforceRepoCap(who.orgId, who.plan, existing)
    const repoId = existing ? existing.id : insertRepo.get(who.orgId, input.repo, now)!.id
    const warn = input.warn_threshold ?? DEFAULT_WARN
    const fail = input.fail_threshold ?? DEFAULT_FAIL
    const delta = roundDelta(input.delta ?? (input.baseline !== undefined ? input.coverage - input.baseline : 0))
    const outcome = input.outcome ?? outcomeFor(delta, warn, fail)
    const id = executionId(now)
    const runAt = input.timestamp ? Date.parse(input.timestamp) : null
    insertExecution.run(
      id, repoId, who.orgId, input.branch, outcome, delta, input.coverage, input.baseline ?? null, warn, fail,
      input.strict_mode ? 1 : 0, input.commit ?? null, runAt, who.agentType, who.tokenId, now,
    )
    bumpCounter.run(repoId)
    rollups.add({ org_id: who.orgId, repo_id: repoId, created_at: now, agent_type: who.agentType, outcome, coverage: input.coverage })
    if (key !== null) {
      // A key whose execution was purged by retention is reused for the new run.
      q.run('DELETE FROM idempotency_keys WHERE org_id = ? AND key = ?', [who.orgId, key])
      insertKey.run(who.orgId, key, requestHash, id, now)
    }
    const row: ExecutionRow = {
      id, repo: input.repo, branch: input.branch, outcome, delta, coverage: input.coverage,
      baseline: input.baseline ?? null, commit: input.commit ?? null, created_at: now,
    }
    return { row, replayed: false, repoId }
  })

  /*
   * Group commit: runs submitted during one turn of the event loop are written in one transaction, each
   * in its own savepoint (a refused run rolls back alone). A commit appends every page it touched to the
   * WAL, so sharing it is the difference between ~36 µs and ~6 µs a run. No answer is sent before the
   * commit that holds its run.
   */
  let queue: Pending[] = []
  const commitBatch = q.transaction((batch: Pending[]) =>
    batch.map((item) => {
      try {
        return { ok: ingest(item.who, item.input, item.key, item.requestHash) }
      } catch (error) {
        return { error }
      }
    }),
  )
  function flush(): void {
    const batch = queue
    queue = []
    let results: ReturnType<typeof commitBatch>
    try {
      results = commitBatch.immediate(batch)
    } catch (error) {
      for (const item of batch) item.reject(error)
      return
    }
    results.forEach((result, i) => ('ok' in result ? batch[i]!.resolve(result.ok!) : batch[i]!.reject(result.error)))
  }
  function enqueue(who: Submitter, input: ExecutionInput, key: string | null, requestHash: string) {
    return new Promise<{ row: ExecutionRow; replayed: boolean; repoId: number }>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush)
      queue.push({ who, input, key, requestHash, resolve, reject })
    })
  }

  const listCache = new Lru<string, { version: number; json: string }>(LIST_CACHE_ENTRIES)

  return {
    /**
     * Records one run (registering its repository under the plan's cap) and keeps the repository's
     * counter exact in the same transaction. With an Idempotency-Key, a retry returns the first result.
     */
    async record(who: Submitter, input: ExecutionInput, key: string | null) {
      const requestHash = key === null ? '' : sha256Hex(JSON.stringify(input))
      const { row, replayed, repoId } = await enqueue(who, input, key, requestHash)
      const view = {
        ...executionView(row),
        warn_threshold: input.warn_threshold ?? DEFAULT_WARN,
        fail_threshold: input.fail_threshold ?? DEFAULT_FAIL,
        strict_mode: input.strict_mode ?? false,
        agent_type: who.agentType,
      }
      if (!replayed) {
        onIngest?.()
        bus.publish(streamKey(who.orgId, input.repo), executionView(row))
      }
      return { execution: view, replayed }
    },

    findRepo(orgId: string, name: string): RepoRow | null {
      return repoByName.get(orgId, name) ?? null
    },

    /**
     * The list as JSON. A page is served from memory while the repository's version (bumped in the same
     * transaction as every insert and deletion, by any instance) is unchanged; the version read is the
     * one statement a cached page costs.
     */
    listJson(orgId: string, repoName: string, options: { limit: number; cursor?: string; branch?: string }): string {
      const repo = repoByName.get(orgId, repoName)
      if (!repo) {
        // The same answer to a bad cursor whether or not the repository exists yet.
        if (options.cursor !== undefined && decodeCursor(options.cursor) === null) throw badCursor()
        return EMPTY_LIST
      }
      const key = `${repo.id}\0${options.limit}\0${options.branch ?? ''}\0${options.cursor ?? ''}`
      const hit = listCache.get(key)
      if (hit && hit.version === repo.version) return hit.json
      const json = JSON.stringify(this.page(repo, repoName, options))
      listCache.set(key, { version: repo.version, json })
      return json
    },

    /** Newest first, `limit` at a time; `total` is the repository's counter, never a COUNT(*). */
    page(repo: RepoRow, repoName: string, options: { limit: number; cursor?: string; branch?: string }) {
      let before = NO_CURSOR
      if (options.cursor !== undefined) {
        const decoded = decodeCursor(options.cursor)
        if (decoded === null) throw badCursor()
        before = decoded
      }
      const rows =
        options.branch === undefined
          ? page.all(repoName, repo.id, before, options.limit + 1)
          : branchPage.all(repoName, repo.id, options.branch, before, options.limit + 1)
      const more = rows.length > options.limit
      if (more) rows.pop()
      return {
        executions: rows.map(executionView),
        total: repo.execution_count,
        next_cursor: more ? encodeCursor(rows[rows.length - 1]!.id) : null,
      }
    },

    latestId(repoId: number): string | null {
      return latest.get(repoId)?.id ?? null
    },

    /** Executions of a repository after `id`, oldest first: the stream's replay and catch-up. */
    after(repoId: number, repoName: string, id: string, limit = 500): ExecutionView[] {
      return after.all(repoName, repoId, id, limit).map(executionView)
    },
  }
}

export type ExecutionStore = ReturnType<typeof createExecutionStore>
