import type { Db } from '../../db/client'
import { createBatchedWriter, type Batch } from '../../db/batched-writer'
import { lock, type Step } from '../../db/work'
import type { executions, Outcome, Plan, Row } from '../../db/schema'
import type { Clock } from '../../lib/clock'
import { sha256Hex } from '../../lib/hash'
import { executionIds } from '../../lib/ids'
import { isoSeconds } from '../../lib/clock'
import { decodeTime } from 'ulidx'
import { HttpError, paymentRequired } from '../../http/errors'
import { PLAN_LIMITS } from '../plans'
import { streamKey, type ExecutionBus } from './bus'
import { executionView, outcomeFor, roundDelta, type ExecutionRow, type ExecutionView } from './format'
import { createListCache, HIGHEST_ID, idAt, LOWEST_ID, type ListOptions } from './list-cache'
import type { RepoChanges } from './repo-changes'
import { executionQueries as q, type ExecutionInsert, type RepoRow } from './queries'

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

/** What a new execution tells those who keep derived data (analytics' daily rollups), inside its transaction. */
export type InsertedExecution = Pick<Row<typeof executions.$inferSelect>, 'org_id' | 'repo_id' | 'created_at' | 'agent_type' | 'outcome' | 'coverage'>

export interface ExecutionStoreDeps {
  db: Db
  clock: Clock
  bus: ExecutionBus
  /** Told of every run recorded here, after its commit (cached repository rows are dropped). */
  changes: RepoChanges
  /** Runs inside the inserting transaction, once per batch with its new runs (so derived data never disagrees with the rows). */
  onInsert?: (executions: InsertedExecution[]) => Step<void>
  /** Told after each new run is committed, for metrics. */
  onIngest?: () => void
}

/** Runs per read of an export. */
export const EXPORT_PAGE = 1000

const DEFAULT_WARN = 0.5
const DEFAULT_FAIL = 1.0

interface Submission {
  who: Submitter
  input: ExecutionInput
  key: string | null
  requestHash: string
}

/** A run of the batch being written: its row, and whether it is in the database yet (see `settle`). */
interface NewRun {
  row: ExecutionInsert
  written: boolean
}

const rowOf = (insert: ExecutionInsert, repo: string): ExecutionRow => ({
  id: insert.id, repo, branch: insert.branch, outcome: insert.outcome, delta: insert.delta, coverage: insert.coverage,
  baseline: insert.baseline, commit: insert.commit, created_at: insert.created_at,
})

/** Records and lists executions: the rules of a run; the SQL is in queries.ts, pages in list-cache.ts. */
export function createExecutionStore(deps: ExecutionStoreDeps) {
  const { clock, bus, db } = deps
  const lists = createListCache(db, deps.changes)
  const executionId = executionIds()

  /**
   * The plan's repository cap. A new repository is counted under the organisation's lock, so two runs
   * racing to register the last free slot on PostgreSQL cannot both pass (SQLite writes one at a time).
   */
  function* enforceRepoCap(orgId: string, plan: Plan, repo: RepoRow | null): Step<void> {
    const limit = PLAN_LIMITS[plan].repos
    if (limit === null) return
    if (repo === null) yield* lock(`repos:${orgId}`)
    const used = (yield* q.countRepos(orgId))!.n
    const refuse = () => paymentRequired(`repository limit reached for your plan (${used}/${limit} repos used)`)
    if (repo === null) {
      if (used >= limit) throw refuse()
      return
    }
    // After a downgrade the oldest `limit` repositories keep accepting runs; newer ones are refused.
    if (used > limit && (yield* q.reposBefore(orgId, repo))!.n >= limit) throw refuse()
  }

  /**
   * Runs of one repository sit next to each other in a batch (see `order` below) and share its
   * transaction, so the repository is looked up and admitted under the plan's cap once per batch.
   * (A repository admitted stays admitted within the batch: a new one is only registered below the cap,
   * and an organisation over its cap registers none.)
   */
  const admitted = new WeakMap<Batch<NewRun>, { key: string; plan: Plan; id: number }>()

  function* admittedRepo(who: Submitter, name: string, now: number, batch: Batch<NewRun>): Step<number> {
    const key = `${who.orgId}\0${name}`
    const last = admitted.get(batch)
    if (last && last.key === key && last.plan === who.plan) return last.id
    let existing = yield* q.repoByName(who.orgId, name)
    yield* enforceRepoCap(who.orgId, who.plan, existing)
    if (existing === null) existing = (yield* q.insertRepo(who.orgId, name, now)) as RepoRow | null
    const id = existing ? existing.id : (yield* q.repoByName(who.orgId, name))!.id
    admitted.set(batch, { key, plan: who.plan, id })
    return id
  }

  /**
   * One run, inside the batch's transaction. Its row, and what it adds to counters and rollups, are
   * effects written by `settle` at the end of the batch (on the item-by-item pass the row is written here).
   */
  function* ingest({ who, input, key, requestHash }: Submission, batch: Batch<NewRun>): Step<{ row: ExecutionRow; replayed: boolean }> {
    const minted = clock.now()
    const id = executionId(minted)
    // A run's created_at is the time its id carries (the clock's, held while the clock steps back: it never
    // goes backwards), so a time window is an id range: `?since=&until=` read an index, never a scan.
    const now = decodeTime(id.slice(4).toUpperCase())
    // The key is claimed first (a unique insert): a retry racing its original waits for it and replays it.
    if (key !== null && !(yield* q.claimKey(who.orgId, key, requestHash, id, now))) {
      const seen = (yield* q.findKey(who.orgId, key))!
      if (seen.request_hash !== requestHash) throw new HttpError(422, 'Idempotency-Key was already used with a different request body')
      // Claimed by an earlier run of this same batch, whose row is not written yet: that run is the answer.
      const earlier = batch.effects.find((run) => run.row.id === seen.execution_id)
      if (earlier) return { row: rowOf(earlier.row, input.repo), replayed: true }
      const row = yield* q.byId(seen.execution_id)
      if (row) return { row, replayed: true }
      // A key whose execution was purged by retention is reused for the new run.
      yield* q.reassignKey(who.orgId, key, requestHash, id, now)
    }
    const repoId = yield* admittedRepo(who, input.repo, now, batch)
    const warn = input.warn_threshold ?? DEFAULT_WARN
    const fail = input.fail_threshold ?? DEFAULT_FAIL
    const delta = roundDelta(input.delta ?? (input.baseline !== undefined ? input.coverage - input.baseline : 0))
    const outcome = input.outcome ?? outcomeFor(delta, warn, fail)
    const insert: ExecutionInsert = {
      id,
      repo_id: repoId,
      org_id: who.orgId,
      branch: input.branch,
      outcome,
      delta,
      coverage: input.coverage,
      baseline: input.baseline ?? null,
      warn_threshold: warn,
      fail_threshold: fail,
      strict_mode: input.strict_mode === true,
      commit: input.commit ?? null,
      run_at: input.timestamp ? Date.parse(input.timestamp) : null,
      agent_type: who.agentType,
      token_id: who.tokenId,
      created_at: now,
    }
    if (!batch.deferring) yield* q.insertExecution(insert)
    batch.effects.push({ row: insert, written: !batch.deferring })
    const row = rowOf(insert, input.repo)
    return { row, replayed: false }
  }

  /**
   * The end of each batch: the rows not written yet in one multi-row insert; then every repository's
   * counter and version move once by its number of new runs, in repository-id order (every instance
   * locks counter rows in one order); then the rollups.
   */
  function* settle(runs: NewRun[]): Step<void> {
    const unwritten = runs.filter((run) => !run.written).map((run) => run.row)
    if (unwritten.length > 0) yield* q.insertExecutions(unwritten)
    const perRepo = new Map<number, number>()
    for (const { row } of runs) perRepo.set(row.repo_id, (perRepo.get(row.repo_id) ?? 0) + 1)
    for (const repoId of [...perRepo.keys()].sort((a, b) => a - b)) yield* q.addToCounter(repoId, perRepo.get(repoId)!)
    if (deps.onInsert) yield* deps.onInsert(runs.map(({ row }) => row))
  }

  // Batches are written in repository order (see db/batched-writer.ts).
  const writer = createBatchedWriter(db, ingest, ({ who, input }) => `${who.orgId}\0${input.repo}`, settle)

  return {
    /**
     * Records one run (registering its repository under the plan's cap) and keeps the repository's
     * counter exact in the same transaction. With an Idempotency-Key, a retry returns the first result.
     */
    async record(who: Submitter, input: ExecutionInput, key: string | null) {
      const requestHash = key === null ? '' : sha256Hex(JSON.stringify(input))
      const { row, replayed } = await writer.submit({ who, input, key, requestHash })
      const view = {
        ...executionView(row),
        warn_threshold: input.warn_threshold ?? DEFAULT_WARN,
        fail_threshold: input.fail_threshold ?? DEFAULT_FAIL,
        strict_mode: input.strict_mode ?? false,
        agent_type: who.agentType,
        ran_at: input.timestamp ? isoSeconds(Date.parse(input.timestamp)) : null,
      }
      if (!replayed) {
        deps.onIngest?.()
        const key = streamKey(who.orgId, input.repo)
        deps.changes.changed(key)
        bus.publish(key, executionView(row))
      }
      return { execution: view, replayed }
    },

    listJson: (orgId: string, repoName: string, options: ListOptions): Promise<string> => lists.listJson(orgId, repoName, options),

    findRepo: (orgId: string, name: string): Promise<RepoRow | null> => db.read(q.repoByName(orgId, name)),

    /**
     * A repository's whole history (or a window, or a branch), oldest first, EXPORT_PAGE runs per read: each
     * page is read by keyset from the last id, so a read costs the same at the first run and the millionth.
     */
    async *exportPages(orgId: string, repoName: string, filter: { branch?: string; since?: number; until?: number }): AsyncGenerator<ExecutionRow[]> {
      const repo = await db.read(q.repoByName(orgId, repoName))
      if (!repo) return
      let above = filter.since === undefined ? LOWEST_ID : idAt(filter.since)
      const below = filter.until === undefined ? HIGHEST_ID : idAt(filter.until)
      for (;;) {
        const rows = await db.read(q.page(repoName, repo.id, { branch: filter.branch }, above, below, 'asc', EXPORT_PAGE))
        if (rows.length > 0) yield rows
        if (rows.length < EXPORT_PAGE) return
        above = rows[rows.length - 1]!.id
      }
    },

    latestId: async (repoId: number): Promise<string | null> => (await db.read(q.latest(repoId)))?.id ?? null,

    /** Executions of a repository after `id`, oldest first: the stream's replay and catch-up. */
    after: async (repoId: number, repoName: string, id: string, limit = 500): Promise<ExecutionView[]> =>
      (await db.read(q.after(repoName, repoId, id, limit))).map(executionView),
  }
}

export type ExecutionStore = ReturnType<typeof createExecutionStore>
