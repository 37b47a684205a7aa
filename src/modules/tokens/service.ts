import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { apiTokens, type Plan } from '../../db/schema'
import type { Clock } from '../../lib/clock'
import { sha256Hex } from '../../lib/hash'
import { randomHex } from '../../lib/ids'
import type { Logger } from '../../lib/logger'
import type { Actor } from '../../http/actor'
import { conflict, notFound, paymentRequired } from '../../http/errors'
import { recordAudit } from '../audit/service'
import { PLAN_LIMITS } from '../plans'
import { effectiveStatus, tokenView, type TokenRow } from './status'
import type { TokenVerifier } from './verifier'

export interface TokenDeps {
  db: Db
  clock: Clock
  logger: Logger
  verifier: TokenVerifier
  graceSeconds: number
  /** Told of every token that stops being accepted (revoked, or its grace cut short), so open streams end. */
  ended?: (tokenId: string) => void
}


type Tx = Parameters<Parameters<Db['orm']['transaction']>[0]>[0]

/**
 * `nlp_` + 40 hex of CSPRNG output (160 bits). The UUID is the token's public id and is not part of the
 * secret: lookup is by the SHA-256 of the whole secret, so a leaked row or id narrows nothing.
 */
function newToken(): { id: string; secret: string } {
  return { id: crypto.randomUUID(), secret: `nlp_${randomHex(20)}` }
}

function findOwned(tx: Pick<Tx, 'select'>, orgId: string, id: string): TokenRow {
  const row = tx.select().from(apiTokens).where(and(eq(apiTokens.id, id), eq(apiTokens.orgId, orgId))).get()
  if (!row) throw notFound('token not found')
  return row
}

/** Tokens counting against the cap: active ones, and rotating ones still inside their grace period. */
export function tokensInUse(tx: Pick<Tx, 'select'>, orgId: string, now: number): number {
  const row = tx
    .select({ n: sql<number>`count(*)` })
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.orgId, orgId),
        sql`(${apiTokens.status} = 'active' OR (${apiTokens.status} = 'rotating' AND ${apiTokens.graceEndsAt} > ${now}))`,
      ),
    )
    .get()
  return row?.n ?? 0
}

export function listTokens(deps: TokenDeps, orgId: string) {
  const now = deps.clock.now()
  const rows = deps.db.orm.select().from(apiTokens).where(eq(apiTokens.orgId, orgId)).orderBy(asc(apiTokens.createdAt), asc(apiTokens.id)).all()
  return rows.map((row) => tokenView(row, now))
}

export function getToken(deps: TokenDeps, orgId: string, id: string) {
  return tokenView(findOwned(deps.db.orm, orgId, id), deps.clock.now())
}

/** Creates a token under the plan's cap; the secret is returned here once and only its hash is stored. */
export function createToken(deps: TokenDeps, who: Actor, input: { name: string; scopes: string[]; agentType: string }) {
  const now = deps.clock.now()
  const scopes = [...new Set(input.scopes)]
  const { id, secret } = newToken()
  const line = deps.db.orm.transaction(
    (tx) => {
      const limit = PLAN_LIMITS[who.plan].tokens
      if (limit !== null) {
        const used = tokensInUse(tx, who.orgId, now)
        if (used >= limit)
          throw paymentRequired(`token limit reached for your plan (${used}/${limit} tokens used). Upgrade to create more tokens.`)
      }
      tx.insert(apiTokens)
        .values({ id, orgId: who.orgId, name: input.name, secretHash: sha256Hex(secret), scopes, agentType: input.agentType, createdAt: now })
        .run()
      return recordAudit(tx, now, {
        action: 'token.create',
        fields: { org_id: who.orgId, token_id: id, scopes, agent_type: input.agentType },
        orgId: who.orgId,
        actor: who.actor,
        target: id,
        remote: who.remote,
      })
    },
    { behavior: 'immediate' },
  )
  deps.logger.audit(line)
  return { id, secret, name: input.name, scopes, agent_type: input.agentType }
}

export function updateAgentType(deps: TokenDeps, who: Actor, id: string, agentType: string) {
  const now = deps.clock.now()
  const { row, line } = deps.db.orm.transaction((tx) => {
    const before = findOwned(tx, who.orgId, id)
    const row = tx.update(apiTokens).set({ agentType }).where(eq(apiTokens.id, id)).returning().get()!
    const line = recordAudit(tx, now, {
      action: 'token.update',
      fields: { token_id: id, agent_type: agentType, previous_agent_type: before.agentType },
      orgId: who.orgId,
      actor: who.actor,
      target: id,
      remote: who.remote,
    })
    return { row, line }
  })
  deps.verifier.invalidate(id)
  deps.logger.audit(line)
  return tokenView(row, now)
}

/**
 * Issues a new token with the same name, scopes and agent type; the old one turns `rotating` and keeps
 * working until the grace period ends. Allowed at the cap (the old one is on its way out). A token
 * still in grace from the previous rotation of this one is revoked at once: a chain of rotations never
 * leaves more than two valid tokens (the active one and its one predecessor).
 */
export function rotateToken(deps: TokenDeps, who: Actor, id: string) {
  const now = deps.clock.now()
  const next = newToken()
  let cut: string[] = []
  const line = deps.db.orm.transaction(
    (tx) => {
      const old = findOwned(tx, who.orgId, id)
      const status = effectiveStatus(old, now)
      if (status !== 'active') throw conflict(`token is ${status} and cannot be rotated`)
      cut = tx
        .select({ id: apiTokens.id })
        .from(apiTokens)
        .where(and(eq(apiTokens.replacedBy, id), eq(apiTokens.status, 'rotating'), gt(apiTokens.graceEndsAt, now)))
        .all()
        .map((row) => row.id)
      if (cut.length > 0) tx.update(apiTokens).set({ status: 'revoked', graceEndsAt: null }).where(inArray(apiTokens.id, cut)).run()
      tx.insert(apiTokens)
        .values({ id: next.id, orgId: who.orgId, name: old.name, secretHash: sha256Hex(next.secret), scopes: old.scopes, agentType: old.agentType, createdAt: now })
        .run()
      tx.update(apiTokens)
        .set({ status: 'rotating', graceEndsAt: now + deps.graceSeconds * 1000, replacedBy: next.id })
        .where(eq(apiTokens.id, id))
        .run()
      return recordAudit(tx, now, {
        action: 'token.rotate',
        fields: { old_id: id, new_id: next.id, ...(cut.length > 0 ? { grace_ended: cut } : {}) },
        orgId: who.orgId,
        actor: who.actor,
        target: id,
        remote: who.remote,
      })
    },
    { behavior: 'immediate' },
  )
  deps.verifier.invalidate(id)
  for (const ended of cut) {
    deps.verifier.invalidate(ended)
    deps.ended?.(ended)
  }
  deps.logger.audit(line)
  return { id: next.id, secret: next.secret }
}

/** Revokes a token; it is refused from the very next request. Revoking a revoked token changes nothing. */
export function revokeToken(deps: TokenDeps, who: Actor, id: string): void {
  const now = deps.clock.now()
  const line = deps.db.orm.transaction((tx) => {
    const row = findOwned(tx, who.orgId, id)
    if (row.status === 'revoked') return null
    tx.update(apiTokens).set({ status: 'revoked', graceEndsAt: null }).where(eq(apiTokens.id, id)).run()
    return recordAudit(tx, now, { action: 'token.revoke', fields: { token_id: id }, orgId: who.orgId, actor: who.actor, target: id, remote: who.remote })
  })
  deps.verifier.invalidate(id)
  deps.ended?.(id)
  if (line) deps.logger.audit(line)
}

