import type { Db } from '../../db/client'
import type { TokenVerifier } from '../tokens/verifier'

interface RepoRow {
  id: number
  org_id: string
  default_branch: string
  private: number
}

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

  /** A private repository is shown only with `?token=` carrying a read or execute token of its organisation. */
  function visible<R extends RepoRow>(row: R | null, token: string | undefined): R | null {
    if (!row) return null
    if (row.private === 1) {
      const verified = token ? verifier.verify(token) : null
      if (!verified || verified.orgId !== row.org_id) return null
      if (!verified.scopes.includes('read') && !verified.scopes.includes('execute')) return null
    }
    return row
  }

  return {
    /** The latest coverage on `branch`, else on the default branch falling back to any branch. */
    coverage(org: string, repo: string, branch: string | undefined, token: string | undefined): number | null {
      const row = visible(badgeRow.get(org, repo), token)
      if (!row) return null
      if (branch !== undefined) return latestOn.get(row.id, branch)?.coverage ?? null
      return row.on_default ?? row.any_branch
    },
    /** The last `n` coverage values, oldest first, by the same branch rule. */
    history(org: string, repo: string, branch: string | undefined, n: number, token: string | undefined): number[] {
      const row = visible(repoOf.get(org, repo), token)
      if (!row) return []
      let rows = lastOn.all(row.id, branch ?? row.default_branch, n)
      if (rows.length === 0 && branch === undefined) rows = lastAny.all(row.id, n)
      return rows.map((r) => r.coverage).reverse()
    },
  }
}

export type BadgeData = ReturnType<typeof createBadgeData>
