import type { Db } from '../../db/client'
import type { Plan } from '../../db/schema'
import { isoSeconds } from '../../lib/clock'
import type { Logger } from '../../lib/logger'
import type { Config } from '../../config'
import { badRequest, notFound } from '../../http/errors'
import { recordAudit } from '../audit/service'
import { PLAN_LIMITS, ratePerMinute } from '../plans'
import type { Actor } from '../../http/actor'
import { tokensInUse } from '../tokens/service'

interface RepoRow {
  id: number
  name: string
  default_branch: string
  private: number
  execution_count: number
}

export function createRepoService(db: Db, logger: Logger, clock: { now(): number }, config: Config) {
  const q = db.sqlite
  const page = q.prepare<RepoRow, [string, string, number]>(
    'SELECT id, name, default_branch, private, execution_count FROM repositories WHERE org_id = ? AND name > ? ORDER BY name LIMIT ?',
  )
  const one = q.prepare<RepoRow, [string, string]>('SELECT id, name, default_branch, private, execution_count FROM repositories WHERE org_id = ? AND name = ?')
  const count = q.prepare<{ n: number }, [string]>('SELECT count(*) AS n FROM repositories WHERE org_id = ?')
  const latestOn = q.prepare<{ coverage: number; created_at: number }, [number, string]>(
    'SELECT coverage, created_at FROM executions WHERE repo_id = ? AND branch = ? ORDER BY id DESC LIMIT 1',
  )
  const latestAny = q.prepare<{ coverage: number; created_at: number }, [number]>(
    'SELECT coverage, created_at FROM executions WHERE repo_id = ? ORDER BY id DESC LIMIT 1',
  )

  function view(row: RepoRow) {
    const onDefault = latestOn.get(row.id, row.default_branch)
    const last = latestAny.get(row.id)
    return {
      name: row.name,
      default_branch: row.default_branch,
      private: row.private === 1,
      executions: row.execution_count,
      latest_coverage: (onDefault ?? last)?.coverage ?? null,
      last_execution_at: last ? isoSeconds(last.created_at) : null,
    }
  }

  return {
    /** Repositories by name; `latest_coverage` follows the badge rule (default branch, else any branch). */
    list(orgId: string, limit: number, cursor?: string) {
      let after = ''
      if (cursor !== undefined) {
        after = Buffer.from(cursor, 'base64url').toString()
        if (!after) throw badRequest('invalid query: cursor is not a cursor this API returned')
      }
      const rows = page.all(orgId, after, limit + 1)
      const more = rows.length > limit
      if (more) rows.pop()
      return {
        repos: rows.map(view),
        total: count.get(orgId)!.n,
        limit,
        next_cursor: more ? Buffer.from(rows[rows.length - 1]!.name).toString('base64url') : null,
      }
    },

    update(who: Actor, name: string, changes: { default_branch?: string; private?: boolean }) {
      const now = clock.now()
      const { row, line } = db.orm.transaction(() => {
        const before = one.get(who.orgId, name)
        if (!before) throw notFound('repository not found')
        if (changes.default_branch !== undefined)
          q.run('UPDATE repositories SET default_branch = ? WHERE id = ?', [changes.default_branch, before.id])
        if (changes.private !== undefined) q.run('UPDATE repositories SET private = ? WHERE id = ?', [changes.private ? 1 : 0, before.id])
        const line = recordAudit(db.orm, now, {
          action: 'repo.update',
          fields: { org_id: who.orgId, repo: name, default_branch: changes.default_branch, private: changes.private },
          orgId: who.orgId,
          actor: who.actor,
          target: name,
          remote: who.remote,
        })
        return { row: one.get(who.orgId, name)!, line }
      })
      logger.audit(line)
      return view(row)
    },

    usage(orgId: string, plan: Plan) {
      const limits = PLAN_LIMITS[plan]
      return {
        plan,
        repos: { used: count.get(orgId)!.n, limit: limits.repos },
        tokens: { used: tokensInUse(db.orm, orgId, clock.now()), limit: limits.tokens },
        retention_days: limits.retentionDays,
        rate_limit_per_minute: ratePerMinute(plan, config),
      }
    },
  }
}

export type RepoService = ReturnType<typeof createRepoService>
