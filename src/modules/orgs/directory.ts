import type { Db } from '../../db/client'
import type { Plan } from '../../db/schema'
import type { Clock } from '../../lib/clock'
import type { OrgSummary } from '../../http/auth'

export type { OrgSummary }

/*
 * Organisations are read on every authenticated request (plan → rate limit and caps), so they are cached
 * here. A plan change on this instance invalidates the entry at once; other instances re-read within TTL_MS.
 */
const TTL_MS = 30_000
const MAX_ENTRIES = 10_000

export interface OrgDirectory {
  /** A cached organisation answers at once; a miss reads the database. */
  byId(id: string): OrgSummary | null | Promise<OrgSummary | null>
  bySlug(slug: string): Promise<OrgSummary | null>
  invalidate(id: string): void
  /** Drops every entry (a change announced by another instance may have been missed). */
  flush(): void
}

export function createOrgDirectory(db: Db, clock: Clock): OrgDirectory {
  const cache = new Map<string, { org: OrgSummary; loadedAt: number }>()
  type Row = { id: string; slug: string; plan: Plan; billing_status: OrgSummary['billingStatus'] }
  const toSummary = (row: Row): OrgSummary => ({
    id: row.id,
    slug: row.slug,
    plan: row.plan,
    billingStatus: row.billing_status,
  })
  return {
    byId(id) {
      const now = clock.now()
      const hit = cache.get(id)
      if (hit && now - hit.loadedAt < TTL_MS) return hit.org
      return db.get<Row>('SELECT id, slug, plan, billing_status FROM organisations WHERE id = ?', [id]).then((row) => {
        if (!row) return null
        if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!)
        const org = toSummary(row)
        cache.set(id, { org, loadedAt: now })
        return org
      })
    },
    async bySlug(slug) {
      const row = await db.get<Row>('SELECT id, slug, plan, billing_status FROM organisations WHERE slug = ?', [slug])
      return row ? toSummary(row) : null
    },
    invalidate(id) {
      cache.delete(id)
    },
    flush() {
      cache.clear()
    },
  }
}
