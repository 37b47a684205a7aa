import type { Db } from '../../db/client'
import { all, get, lock } from '../../db/work'
import type { Actor } from '../../http/actor'
import { conflict, notFound, paymentRequired } from '../../http/errors'
import { isoSeconds, type Clock } from '../../lib/clock'
import { ulidAt } from '../../lib/ids'
import type { Logger } from '../../lib/logger'
import { recordAudit } from '../audit/service'

export interface BindingRow {
  id: string
  org_id: string
  provider: 'github'
  repository: string
  repo: string
  workflow: string | null
  environment: string | null
  repository_id: string | null
  repository_owner_id: string | null
  created_at: number
}

/** Bindings per organisation: one on the free plan (a trial of tokenless CI), a bound beyond that for the paid ones. */
const BINDINGS = { free: 1, team: 1000, enterprise: 1000 } as const

const COLUMNS = 'id, org_id, provider, repository, repo, workflow, environment, repository_id, repository_owner_id, created_at'

export function bindingView(row: BindingRow) {
  return {
    id: row.id,
    provider: row.provider,
    repository: row.repository,
    repo: row.repo,
    workflow: row.workflow,
    environment: row.environment,
    repository_id: row.repository_id,
    repository_owner_id: row.repository_owner_id,
    created_at: isoSeconds(Number(row.created_at)),
  }
}

/** The OIDC bindings feature's statements and rules. */
export function createBindingService(db: Db, clock: Clock, logger: Logger) {
  return {
    async create(who: Actor, body: { repository: string; repo: string; workflow?: string; environment?: string; repository_id?: string; repository_owner_id?: string }) {
      const now = clock.now()
      const id = `oib_${ulidAt(now)}`
      const repository = body.repository.toLowerCase()
      const { row, line } = await db.tx(
        (function* () {
          // Counted under the organisation's lock, so two requests cannot both take the last slot.
          yield* lock(`oidc:${who.orgId}`)
          const { n } = (yield* get<{ n: number }>('SELECT count(*) AS n FROM oidc_bindings WHERE org_id = ?', [who.orgId]))!
          const cap = BINDINGS[who.plan]
          if (Number(n) >= cap) throw paymentRequired(`OIDC binding limit reached for your plan (${n}/${cap} bindings used); the team plan allows more`)
          const inserted = yield* get<BindingRow>(
            `INSERT INTO oidc_bindings (${COLUMNS}) VALUES (?, ?, 'github', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, repository) DO NOTHING RETURNING ${COLUMNS}`,
            [id, who.orgId, repository, body.repo, body.workflow ?? null, body.environment ?? null, body.repository_id ?? null, body.repository_owner_id ?? null, now],
          )
          if (!inserted) throw conflict(`${repository} is bound already`)
          const line = yield* recordAudit(now, { action: 'oidc.bind', fields: { org_id: who.orgId, binding: id, repository, repo: body.repo }, orgId: who.orgId, actor: who.actor, target: id, remote: who.remote })
          return { row: inserted, line }
        })(),
      )
      logger.audit(line)
      return bindingView(row)
    },

    async list(orgId: string) {
      return (await db.all<BindingRow>(`SELECT ${COLUMNS} FROM oidc_bindings WHERE org_id = ? ORDER BY created_at, id`, [orgId])).map(bindingView)
    },

    async remove(who: Actor, id: string) {
      const now = clock.now()
      const line = await db.tx(
        (function* () {
          const gone = yield* all<{ id: string }>('DELETE FROM oidc_bindings WHERE id = ? AND org_id = ? RETURNING id', [id, who.orgId])
          if (gone.length === 0) throw notFound('binding not found')
          return yield* recordAudit(now, { action: 'oidc.unbind', fields: { org_id: who.orgId, binding: id }, orgId: who.orgId, actor: who.actor, target: id, remote: who.remote })
        })(),
      )
      logger.audit(line)
    },

    /** The binding of a GitHub repository (by its lower-cased name), or null. */
    byRepository: (repository: string) => db.get<BindingRow>(`SELECT ${COLUMNS} FROM oidc_bindings WHERE provider = 'github' AND repository = ?`, [repository.toLowerCase()]),

    /** Records the ids of the first verified token on a binding that had none (the first writer wins). */
    async pin(id: string, repositoryId: string, ownerId: string): Promise<BindingRow | null> {
      await db.run('UPDATE oidc_bindings SET repository_id = ?, repository_owner_id = ? WHERE id = ? AND repository_id IS NULL', [repositoryId, ownerId, id])
      return db.get<BindingRow>(`SELECT ${COLUMNS} FROM oidc_bindings WHERE id = ?`, [id])
    },
  }
}

export type BindingService = ReturnType<typeof createBindingService>
