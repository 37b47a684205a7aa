import type { Db } from '../../db/client'
import { createBatchedWriter } from '../../db/batched-writer'
import type { Outcome, Plan } from '../../db/schema'
import type { Clock } from '../../lib/clock'
import { sha256Hex } from '../../lib/hash'
import { executionId } from '../../lib/ids'
import { HttpError, paymentRequired } from '../../http/errors'
import { PLAN_LIMITS } from '../plans'
import { streamKey, type ExecutionBus } from './bus'
import { executionView, outcomeFor, roundDelta, type ExecutionRow, type ExecutionView } from './format'
import { createListCache, type ListOptions } from './list-cache'
import { createExecutionQueries, type RepoRow } from './queries'

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
export interface InsertedExecution {
  org_id: string
  repo_id: number
  created_at: number
  agent_type: string
  outcome: Outcome
  coverage: number
}

export interface ExecutionStoreDeps {
  db: Db
  clock: Clock
  bus: ExecutionBus
  /** Runs inside the inserting transaction (so derived data never disagrees with the rows). */
  onInsert?: (execution: InsertedExecution) => void
  /** Told after each new run is committed, for metrics. */
  onIngest?: () => void
}

const DEFAULT_WARN = 0.5
const DEFAULT_FAIL = 1.0

interface Submission {
  who: Submitter
  input: ExecutionInput
  key: string | null
  requestHash: string
}

/** Records and lists executions: the rules of a run; the SQL is in queries.ts, pages in list-cache.ts. */
export function createExecutionStore(deps: ExecutionStoreDeps) {
  const { clock, bus } = deps
  const queries = createExecutionQueries(deps.db.sqlite)
  const lists = createListCache(queries)

  function enforceRepoCap(orgId: string, plan: Plan, repo: RepoRow | null): void {
    const limit = PLAN_LIMITS[plan].repos
    if (limit === null) return
    const used = queries.countRepos.get(orgId)!.n
    const refuse = () => paymentRequired(`repository limit reached for your plan (${used}/${limit} repos used)`)
    if (repo === null) {
      if (used >= limit) throw refuse()
      return
    }
    // After a downgrade the oldest `limit` repositories keep accepting runs; newer ones are refused.
    if (used > limit && queries.reposBefore.get(orgId, repo.created_at, repo.created_at, repo.id)!.n >= limit) throw refuse()
  }

  /** One run, inside the batch's transaction (its own savepoint). */
  function ingest({ who, input, key, requestHash }: Submission): { row: ExecutionRow; replayed: boolean } {
    if (key !== null) {
      const seen = queries.findKey.get(who.orgId, key)
      if (seen) {
        if (seen.request_hash !== requestHash) throw new HttpError(422, 'Idempotency-Key was already used with a different request body')
        const row = queries.byId.get(seen.execution_id)
        if (row) return { row, replayed: true }
      }
    }
    const now = clock.now()
    const existing = queries.repoByName.get(who.orgId, input.repo) ?? null
    enforceRepoCap(who.orgId, who.plan, existing)
    const repoId = existing ? existing.id : queries.insertRepo.get(who.orgId, input.repo, now)!.id
    const warn = input.warn_threshold ?? DEFAULT_WARN
    const fail = input.fail_threshold ?? DEFAULT_FAIL
    const delta = roundDelta(input.delta ?? (input.baseline !== undefined ? input.coverage - input.baseline : 0))
    const outcome = input.outcome ?? outcomeFor(delta, warn, fail)
    const id = executionId(now)
    queries.insertExecution.run({
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
      strict_mode: input.strict_mode ? 1 : 0,
      commit: input.commit ?? null,
      run_at: input.timestamp ? Date.parse(input.timestamp) : null,
      agent_type: who.agentType,
      token_id: who.tokenId,
      created_at: now,
    })
    queries.bumpCounter.run(repoId)
    deps.onInsert?.({ org_id: who.orgId, repo_id: repoId, created_at: now, agent_type: who.agentType, outcome, coverage: input.coverage })
    if (key !== null) {
      // A key whose execution was purged by retention is reused for the new run.
      queries.deleteKey.run(who.orgId, key)
      queries.insertKey.run(who.orgId, key, requestHash, id, now)
    }
    const row: ExecutionRow = {
      id, repo: input.repo, branch: input.branch, outcome, delta, coverage: input.coverage,
      baseline: input.baseline ?? null, commit: input.commit ?? null, created_at: now,
    }
    return { row, replayed: false }
  }

  const writer = createBatchedWriter(deps.db.sqlite, ingest)

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
      }
      if (!replayed) {
        deps.onIngest?.()
        bus.publish(streamKey(who.orgId, input.repo), executionView(row))
      }
      return { execution: view, replayed }
    },

    listJson: (orgId: string, repoName: string, options: ListOptions): string => lists.listJson(orgId, repoName, options),

    findRepo(orgId: string, name: string): RepoRow | null {
      return queries.repoByName.get(orgId, name) ?? null
    },

    latestId(repoId: number): string | null {
      return queries.latest.get(repoId)?.id ?? null
    },

    /** Executions of a repository after `id`, oldest first: the stream's replay and catch-up. */
    after(repoId: number, repoName: string, id: string, limit = 500): ExecutionView[] {
      return queries.after.all(repoName, repoId, id, limit).map(executionView)
    },
  }
}

export type ExecutionStore = ReturnType<typeof createExecutionStore>
