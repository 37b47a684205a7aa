import { streamKey } from '../executions/bus'
import { decodeCursor, encodeCursor, INVALID_CURSOR } from '../../lib/cursor'
import type { Db } from '../../db/client'
import { isoSeconds } from '../../lib/clock'
import type { Logger } from '../../lib/logger'
import type { Config } from '../../config'
import { badRequest, notFound } from '../../http/errors'
import { recordAudit } from '../audit/service'
import type { Actor } from '../../http/actor'
import { get, run } from '../../db/work'
import { LATEST_RUN, LATEST_RUN_ON } from '../executions/queries'
import { badgeSettings, type BadgeSettings } from './badge-settings'

interface RepoRow {
  id: number
  name: string
  default_branch: string
  private: number | boolean
  execution_count: number
  badge: string | null
}

/** A repository's latest run on one branch. */
/** A repository's latest run on any branch. */

/** How many repositories an organisation has (what its plan's repository cap counts). */
export const countRepos = (db: Db) => async (orgId: string) =>
  (await db.get<{ n: number }>('SELECT count(*) AS n FROM repositories WHERE org_id = ?', [orgId]))!.n

/** `changed`: told after a repository's settings change, so cached rows of it (badges) are dropped on every instance. */
export function createRepoService(db: Db, logger: Logger, clock: { now(): number }, config: Config, changed: (key: string) => void = () => {}) {
  const ONE = 'SELECT id, name, default_branch, private, execution_count, badge FROM repositories WHERE org_id = ? AND name = ?'
  const count = countRepos(db)
  const latest = (repoId: number, branch?: string) =>
    branch === undefined
      ? db.get<{ coverage: number; created_at: number }>(LATEST_RUN, [repoId, repoId])
      : db.get<{ coverage: number; created_at: number }>(LATEST_RUN_ON, [repoId, branch, branch])

  async function view(row: RepoRow) {
    const [onDefault, last] = await Promise.all([latest(row.id, row.default_branch), latest(row.id)])
    return {
      name: row.name,
      default_branch: row.default_branch,
      private: Boolean(row.private),
      executions: row.execution_count,
      latest_coverage: (onDefault ?? last)?.coverage ?? null,
      last_execution_at: last ? isoSeconds(last.created_at) : null,
      badge: badgeSettings(row.badge),
    }
  }

  return {
    /** Repositories by name; `latest_coverage` follows the badge rule (default branch, else any branch). */
    async list(orgId: string, limit: number, cursor?: string) {
      let after = ''
      if (cursor !== undefined) {
        // Any stored name (rows from before the name policy too), bounded in length.
        after = decodeCursor(cursor, /^[^\0]{1,504}$/) ?? ''
        if (!after) throw badRequest(INVALID_CURSOR)
      }
      const rows = await db.all<RepoRow>(
        'SELECT id, name, default_branch, private, execution_count, badge FROM repositories WHERE org_id = ? AND name > ? ORDER BY name LIMIT ?',
        [orgId, after, limit + 1],
      )
      const more = rows.length > limit
      if (more) rows.pop()
      return {
        repos: await Promise.all(rows.map(view)),
        total: await count(orgId),
        limit,
        next_cursor: more ? encodeCursor(rows[rows.length - 1]!.name) : null,
      }
    },

    async update(who: Actor, name: string, changes: { default_branch?: string; private?: boolean; badge?: Partial<BadgeSettings> }) {
      const now = clock.now()
      const { row, line } = await db.tx(
        (function* () {
        const before = yield* get<RepoRow>(ONE, [who.orgId, name])
        if (!before) throw notFound('repository not found')
        if (changes.default_branch !== undefined)
          yield* run('UPDATE repositories SET default_branch = ? WHERE id = ?', [changes.default_branch, before.id])
        if (changes.private !== undefined) yield* run('UPDATE repositories SET private = ? WHERE id = ?', [changes.private, before.id])
        if (changes.badge !== undefined) {
          // The fields given replace the current ones.
          const settings = { ...badgeSettings(before.badge), ...changes.badge }
          if (settings.yellow > settings.green) throw badRequest('invalid body: badge.yellow must not be above badge.green')
          yield* run('UPDATE repositories SET badge = ? WHERE id = ?', [JSON.stringify(settings), before.id])
        }
        const line = yield* recordAudit(now, {
          action: 'repo.update',
          fields: { org_id: who.orgId, repo: name, default_branch: changes.default_branch, private: changes.private, badge: changes.badge === undefined ? undefined : JSON.stringify(changes.badge) },
          orgId: who.orgId,
          actor: who.actor,
          target: name,
          remote: who.remote,
        })
        return { row: (yield* get<RepoRow>(ONE, [who.orgId, name]))!, line }
        })(),
      )
      logger.audit(line)
      changed(streamKey(who.orgId, name))
      return view(row)
    },

  }
}

export type RepoService = ReturnType<typeof createRepoService>
