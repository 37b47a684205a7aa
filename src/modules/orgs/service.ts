import { eq } from 'drizzle-orm'
import { organisations, type Plan } from '../../db/schema'
import type { Orm } from '../../db/client'
import { orgId } from '../../lib/ids'

export type Organisation = typeof organisations.$inferSelect
type Tx = Pick<Orm, 'select' | 'insert'>

export const SLUG_PATTERN = '^[a-z0-9][a-z0-9-]{0,38}$'

export function findOrgBySlug(db: Pick<Orm, 'select'>, slug: string): Organisation | undefined {
  return db.select().from(organisations).where(eq(organisations.slug, slug)).get()
}

/** Returns the organisation with this slug, creating it (on `plan`, free by default) when it is new. */
export function ensureOrganisation(tx: Tx, now: number, slug: string, name?: string, plan: Plan = 'free'): { org: Organisation; created: boolean } {
  const existing = findOrgBySlug(tx, slug)
  if (existing) return { org: existing, created: false }
  const org = tx
    .insert(organisations)
    .values({ id: orgId(now), slug, name: name ?? slug, plan, createdAt: now })
    .returning()
    .get()
  return { org, created: true }
}
