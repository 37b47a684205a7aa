import type { Db } from '../../db/client'
import type { TokenVerifier } from '../tokens/verifier'

interface RepoRow {
  id: number
  org_id: string
  default_branch: string
  private: number
}

/** Told why a `?token=` was refused; may throw (429 once the client address has spent its refusals). */
export type Refused = (reason: string) => void

interface BadgeRow extends RepoRow {
  on_default: number | null
  any_branch: number | null
}

/** Reads what a badge or trend graph shows; any missing piece (org, repo, data, access) is "no data". */
export function createBadgeData(db: Db, verifier: TokenVerifier) {
  const q = db.sqlite
  const repoOf = q.prepare<RepoRow, [string, string]>(
    'SELECT r.id, r.org_id, r.default_branch, r.private FROM repositories r JOIN organisations o ON o.id = r.org_id WHERE o.slug = ? AND r.name = ?',
  )
  // The badge's whole question in one statement (each statement costs a read transaction).
  const badgeRow = q.prepare<BadgeRow, [string, string]>(
    `SELECT r.id, r.org_id, r.default_branch, r.private,
       (SELECT coverage FROM executions WHERE repo_id = r.id AND branch = r.default_branch ORDER BY id DESC LIMIT 1) AS on_default,
       (SELECT coverage FROM executions WHERE repo_id = r.id ORDER BY id DESC LIMIT 1) AS any_branch
     FROM repositories r JOIN organisations o ON o.id = r.org_id WHERE o.slug = ? AND r.name = ?`,
  )
  const latestOn = q.prepare<{ coverage: number }, [number, string]>('SELECT coverage FROM executions WHERE repo_id = ? AND branch = ? ORDER BY id DESC LIMIT 1')
  const lastOn = q.prepare<{ coverage: number }, [number, string, number]>('SELECT coverage FROM executions WHERE repo_id = ? AND branch = ? ORDER BY id DESC LIMIT ?')
  const lastAny = q.prepare<{ coverage: number }, [number, number]>('SELECT coverage FROM executions WHERE repo_id = ? ORDER BY id DESC LIMIT ?')

  /**
   * A private repository is shown only with `?token=` carrying a `badge` or `read` token of its
   * organisation — never an `execute`-only token: a badge URL is read by every visitor and proxy, so it
   * must not carry a CI credential. A token that is refused is reported to `refused` (which counts it
   * against the client address and audits it, like every refused credential).
   */
  function visible<R extends RepoRow>(row: R | null, token: string | undefined, refused: Refused): R | null {
    if (!row) return null
    if (row.private !== 1) return row
    if (token === undefined) return null
    const verified = verifier.verify(token)
    if (!verified) return refused('invalid_token'), null
    if (verified.orgId !== row.org_id) return refused('other_organisation'), null
    if (!verified.scopes.includes('badge') && !verified.scopes.includes('read')) return refused('insufficient_scope'), null
    return row
  }

  return {
    /** The latest coverage on `branch`, else on the default branch falling back to any branch. */
    coverage(org: string, repo: string, branch: string | undefined, token: string | undefined, refused: Refused): number | null {
      const row = visible(badgeRow.get(org, repo), token, refused)
      if (!row) return null
      if (branch !== undefined) return latestOn.get(row.id, branch)?.coverage ?? null
      return row.on_default ?? row.any_branch
    },
    /** The last `n` coverage values, oldest first, by the same branch rule. */
    history(org: string, repo: string, branch: string | undefined, n: number, token: string | undefined, refused: Refused): number[] {
      const row = visible(repoOf.get(org, repo), token, refused)
      if (!row) return []
      let rows = lastOn.all(row.id, branch ?? row.default_branch, n)
      if (rows.length === 0 && branch === undefined) rows = lastAny.all(row.id, n)
      return rows.map((r) => r.coverage).reverse()
    },
  }
}

export type BadgeData = ReturnType<typeof createBadgeData>
