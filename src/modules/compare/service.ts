import type { Db } from '../../db/client'
import { notFound } from '../../http/errors'
import { executionView, outcomeFor, roundDelta } from '../executions/format'
import { isCommit } from '../executions/model'
import { executionQueries as q, type RunWithThresholds } from '../executions/queries'


/** Compares the newest runs of two refs (a branch, or a commit) of one repository. */
export function createCompareService(db: Db) {
  /**
   * The run a ref names: a ref of 7-64 hex characters with a run of that exact commit is that commit's
   * newest run; any other ref (or a hex one with no such run) is a branch name and names its newest run.
   */
  async function runOf(repoName: string, repoId: number, ref: string): Promise<{ run: RunWithThresholds; kind: 'commit' | 'branch' } | null> {
    if (isCommit(ref)) {
      const run = await db.read(q.latestOfCommit(repoName, repoId, ref))
      if (run) return { run, kind: 'commit' }
    }
    const run = await db.read(q.latestOfBranch(repoName, repoId, ref))
    return run ? { run, kind: 'branch' } : null
  }

  return {
    /**
     * Both runs, the coverage delta (head − base), the outcome the head gets against the base by the head
     * run's own thresholds, and `stale_base` (the base's run is older than the head's). 404 naming the side
     * with no run.
     */
    async compare(orgId: string, repoName: string, base: string, head: string) {
      const repo = await db.read(q.repoByName(orgId, repoName))
      const [from, to] = repo ? await Promise.all([runOf(repoName, repo.id, base), runOf(repoName, repo.id, head)]) : [null, null]
      if (!from) throw notFound(`no run for base "${base}"`)
      if (!to) throw notFound(`no run for head "${head}"`)
      const delta = roundDelta(to.run.coverage - from.run.coverage)
      return {
        base: { ...executionView(from.run), ref: base, ref_kind: from.kind },
        head: { ...executionView(to.run), ref: head, ref_kind: to.kind },
        coverage_delta: Math.round(delta * 100) / 100,
        outcome: outcomeFor(delta, to.run.warn_threshold, to.run.fail_threshold),
        stale_base: from.run.created_at < to.run.created_at,
      }
    },
  }
}

export type CompareService = ReturnType<typeof createCompareService>
