import type { apiTokens, TokenStatus } from '../../db/schema'
import { isoSeconds } from '../../lib/clock'

export type TokenRow = typeof apiTokens.$inferSelect

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

const TOKEN_FORMAT = /^nlp_([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})[0-9a-f]{8}$/

/** The token id (UUID) embedded in a raw API token, or null when the value is not an API token. */
export function tokenIdOf(raw: string): string | null {
  const m = TOKEN_FORMAT.exec(raw)
  return m ? `${m[1]}-${m[2]}-${m[3]}-${m[4]}-${m[5]}` : null
}
