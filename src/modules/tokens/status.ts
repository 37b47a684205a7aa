import type { TokenStatus } from '../../db/schema'
import { isoSeconds } from '../../lib/clock'

/** A token as the services read it (`TOKEN_SELECT`), scopes parsed. */
export interface TokenRow {
  id: string
  orgId: string
  name: string
  scopes: string[]
  agentType: string
  status: TokenStatus
  graceEndsAt: number | null
  replacedBy: string | null
  createdAt: number
  lastUsedAt: number | null
}

export const TOKEN_SELECT =
  'SELECT id, org_id AS "orgId", name, scopes, agent_type AS "agentType", status, grace_ends_at AS "graceEndsAt", replaced_by AS "replacedBy", created_at AS "createdAt", last_used_at AS "lastUsedAt" FROM api_tokens'

/** A row of TOKEN_SELECT (scopes are stored as JSON text on both backends). */
export function tokenRow(row: Omit<TokenRow, 'scopes'> & { scopes: string }): TokenRow {
  return { ...row, scopes: JSON.parse(row.scopes) }
}

/** A `rotating` token whose grace period has ended is `revoked`, with no sweep needed to say so. */
export function effectiveStatus(token: Pick<TokenRow, 'status' | 'graceEndsAt'>, now: number): TokenStatus {
  if (token.status === 'rotating' && token.graceEndsAt !== null && now >= token.graceEndsAt) return 'revoked'
  return token.status
}

/** The public shape of a token: never its secret or hash. */
export function tokenView(token: TokenRow, now: number) {
  return {
    id: token.id,
    name: token.name,
    status: effectiveStatus(token, now),
    scopes: token.scopes,
    agent_type: token.agentType,
    created_at: isoSeconds(token.createdAt),
    last_used_at: token.lastUsedAt === null ? null : isoSeconds(token.lastUsedAt),
  }
}

/** `nlp_` + 40 lower-case hex, all random (API.md §3): nothing in the token names its row. */
const TOKEN_FORMAT = /^nlp_[0-9a-f]{40}$/

export function isApiTokenFormat(raw: string): boolean {
  return raw.length === 44 && TOKEN_FORMAT.test(raw)
}
