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
  byId(id: string): OrgSummary | null
  bySlug(slug: string): OrgSummary | null
  invalidate(id: string): void
}

export function createOrgDirectory(db: Db, clock: Clock): OrgDirectory {
  const cache = new Map<string, { org: OrgSummary; loadedAt: number }>()
  const byIdStmt = db.sqlite.prepare<{ id: string; slug: string; plan: Plan; billing_status: OrgSummary['billingStatus'] }, [string]>(
    'SELECT id, slug, plan, billing_status FROM organisations WHERE id = ?',
  )
  const bySlugStmt = db.sqlite.prepare<{ id: string; slug: string; plan: Plan; billing_status: OrgSummary['billingStatus'] }, [string]>(
    'SELECT id, slug, plan, billing_status FROM organisations WHERE slug = ?',
  )
  const toSummary = (row: { id: string; slug: string; plan: Plan; billing_status: OrgSummary['billingStatus'] }): OrgSummary => ({
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
      const row = byIdStmt.get(id)
      if (!row) return null
      if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!)
      const org = toSummary(row)
      cache.set(id, { org, loadedAt: now })
      return org
    },
    bySlug(slug) {
      const row = bySlugStmt.get(slug)
      return row ? toSummary(row) : null
    },
    invalidate(id) {
      cache.delete(id)
    },
  }
}
