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

/** `nlp_` + 40 lower-case hex, all random (API.md §3): nothing in the token names its row. */
const TOKEN_FORMAT = /^nlp_[0-9a-f]{40}$/

export function isApiTokenFormat(raw: string): boolean {
  return raw.length === 44 && TOKEN_FORMAT.test(raw)
}
