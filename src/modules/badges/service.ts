import type { Db } from '../../db/client'
import type { TokenVerifier } from '../tokens/verifier'
import { LAST_ANY, LAST_ON, LATEST_ON, latestAnyBranch, latestOnDefault } from '../executions/queries'
import { badgeSettings, type BadgeSettings } from '../repos/badge-settings'
import type { Outcome } from '../../db/schema'
import { streamKey } from '../executions/bus'
import type { RepoChanges } from '../executions/repo-changes'
import type { TrendPoint } from './trend'

interface RepoRow {
  id: number
  org_id: string
  default_branch: string
  private: number | boolean
  /** The badge settings as stored (JSON, null for the defaults). */
  badge: string | null
}

/** Told why a `?token=` was refused; may reject (429 once the client address has spent its refusals). */
export type Refused = (reason: string) => Promise<void>

interface BadgeRow extends RepoRow {
  on_default: number | null
  any_branch: number | null
  on_default_at: number | null
  any_branch_at: number | null
  on_default_outcome: Outcome | null
  any_branch_outcome: Outcome | null
}

/** What a badge shows: the run's coverage, outcome and time (null: no data), and the repository's settings. */
export interface Shown {
  run: { coverage: number; outcome: Outcome; at: number } | null
  settings: BadgeSettings
}

// The badge's whole question in one statement (each statement costs a read transaction).
export const BADGE_ROW = `SELECT r.id, r.org_id, r.default_branch, r.private, r.badge,
  ${latestOnDefault('coverage')} AS on_default,
  ${latestAnyBranch('coverage')} AS any_branch,
  ${latestOnDefault('created_at')} AS on_default_at,
  ${latestAnyBranch('created_at')} AS any_branch_at,
  ${latestOnDefault('outcome')} AS on_default_outcome,
  ${latestAnyBranch('outcome')} AS any_branch_outcome
  FROM repositories r JOIN organisations o ON o.id = r.org_id WHERE o.slug = ? AND r.name = ?`

/**
 * Reads what a badge or trend graph shows; any missing piece (org, repo, data, access) is "no data". The
 * default badge's row (repository, visibility, latest coverage) is kept as the list keeps a repository's
 * row (`executions/repo-changes.ts`): dropped when a run or a setting change is announced, read again
 * after a second at most, so a hot badge costs no statement.
 */
export function createBadgeData(db: Db, verifier: TokenVerifier, changes: RepoChanges) {
  const badgeRows = changes.cache<BadgeRow | null>()
  // A trend's runs (up to 200 each): 500 of them at most, about 8 MB.
  const trendRuns = changes.cache<{ row: RepoRow; points: TrendPoint[] } | null>(500)
  const REPO_OF =
    'SELECT r.id, r.org_id, r.default_branch, r.private, r.badge FROM repositories r JOIN organisations o ON o.id = r.org_id WHERE o.slug = ? AND r.name = ?'

  /**
   * A private repository is shown only with `?token=` carrying a `badge` or `read` token of its
   * organisation — never an `execute`-only token: a badge URL is read by every visitor and proxy, so it
   * must not carry a CI credential. A token that is refused is reported to `refused` (which counts it
   * against the client address and audits it, like every refused credential).
   */
  async function visible<R extends RepoRow>(row: R | null, token: string | undefined, refused: Refused): Promise<R | null> {
    if (!row) return null
    if (!row.private) return row
    if (token === undefined) return null
    const verified = await verifier.verify(token)
    if (!verified) return await refused('invalid_token'), null
    if (verified.orgId !== row.org_id) return await refused('other_organisation'), null
    if (!verified.scopes.includes('badge') && !verified.scopes.includes('read')) return await refused('insufficient_scope'), null
    return row
  }

  return {
    /** The latest run on `branch`, else on the default branch falling back to any branch, and the repository's settings. */
    async coverage(org: string, repo: string, branch: string | undefined, token: string | undefined, refused: Refused): Promise<Shown | null> {
      const found = await badgeRows.get(`${org}\0${repo}`, async () => {
        const read = await db.get<BadgeRow>(BADGE_ROW, [org, repo])
        return { value: read, repo: read === null ? null : streamKey(read.org_id, repo) }
      })
      const row = await visible(found, token, refused)
      if (!row) return null
      const settings = badgeSettings(row.badge)
      if (branch !== undefined) {
        const latest = await db.get<{ coverage: number; created_at: number; outcome: Outcome }>(LATEST_ON, [row.id, branch, branch])
        return { run: latest ? { coverage: latest.coverage, outcome: latest.outcome, at: Number(latest.created_at) } : null, settings }
      }
      if (row.on_default !== null) return { run: { coverage: row.on_default, outcome: row.on_default_outcome!, at: Number(row.on_default_at) }, settings }
      if (row.any_branch !== null) return { run: { coverage: row.any_branch, outcome: row.any_branch_outcome!, at: Number(row.any_branch_at) }, settings }
      return { run: null, settings }
    },
    /**
     * The last `n` runs, oldest first, by the same branch rule (what the trend graph draws), and the
     * repository's settings; kept like the badge's row, so a hot trend graph costs no statement.
     */
    async history(org: string, repo: string, branch: string | undefined, n: number, token: string | undefined, refused: Refused): Promise<{ points: TrendPoint[]; settings?: BadgeSettings }> {
      const found = await trendRuns.get(`${org}\0${repo}\0${branch ?? ''}\0${n}`, async () => {
        const row = await db.get<RepoRow>(REPO_OF, [org, repo])
        if (!row) return { value: null, repo: null }
        type Run = { coverage: number; baseline: number | null; outcome: TrendPoint['outcome']; created_at: number }
        const on = branch ?? row.default_branch
        let rows = await db.all<Run>(LAST_ON, [row.id, on, on, n])
        if (rows.length === 0 && branch === undefined) rows = await db.all<Run>(LAST_ANY, [row.id, row.id, n])
        const points = rows.map((r) => ({ coverage: r.coverage, baseline: r.baseline, outcome: r.outcome, at: Number(r.created_at) })).reverse()
        return { value: { row, points }, repo: streamKey(row.org_id, repo) }
      })
      const row = await visible(found?.row ?? null, token, refused)
      if (!row) return { points: [] }
      return { points: found!.points, settings: badgeSettings(row.badge) }
    },
  }
}

export type BadgeData = ReturnType<typeof createBadgeData>
