import type { Plan } from '../../db/schema'
import { get, type Step } from '../../db/work'
import { orgId } from '../../lib/ids'

export interface Organisation {
  id: string
  slug: string
  name: string
  plan: Plan
  billing_status: 'active' | 'past_due'
  created_at: number
}

export const SLUG_PATTERN = '^[a-z0-9][a-z0-9-]{0,38}$'

const COLUMNS = 'id, slug, name, plan, billing_status, created_at'

export function findOrgBySlug(slug: string): Step<Organisation | null> {
  return get<Organisation>(`SELECT ${COLUMNS} FROM organisations WHERE slug = ?`, [slug])
}

/**
 * Returns the organisation with this slug, creating it (on `plan`, free by default) when it is new. Two
 * requests creating the same slug at once both get the one organisation (the slug is unique).
 */
export function* ensureOrganisation(now: number, slug: string, name?: string, plan: Plan = 'free'): Step<{ org: Organisation; created: boolean }> {
  const existing = yield* findOrgBySlug(slug)
  if (existing) return { org: existing, created: false }
  const org = yield* get<Organisation>(
    `INSERT INTO organisations (id, slug, name, plan, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (slug) DO NOTHING RETURNING ${COLUMNS}`,
    [orgId(now), slug, name ?? slug, plan, now],
  )
  if (org) return { org, created: true }
  return { org: (yield* findOrgBySlug(slug))!, created: false }
}
