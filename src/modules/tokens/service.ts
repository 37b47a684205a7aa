import type { Db } from '../../db/client'
import { all, get, lock, run, type Step } from '../../db/work'
import type { Clock } from '../../lib/clock'
import { sha256Hex } from '../../lib/hash'
import { randomHex } from '../../lib/ids'
import type { Logger } from '../../lib/logger'
import type { Actor } from '../../http/actor'
import { badRequest, conflict, notFound, paymentRequired } from '../../http/errors'
import { recordAudit } from '../audit/service'
import { PLAN_LIMITS } from '../plans'
import { effectiveStatus, TOKEN_SELECT, tokenRow, tokenView, type TokenRow } from './status'
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

/**
 * `nlp_` + 40 hex of CSPRNG output (160 bits). The UUID is the token's public id and is not part of the
 * secret: lookup is by the SHA-256 of the whole secret, so a leaked row or id narrows nothing.
 */
function newToken(): { id: string; secret: string } {
  return { id: crypto.randomUUID(), secret: `nlp_${randomHex(20)}` }
}

function* findOwned(orgId: string, id: string): Step<TokenRow> {
  const row = yield* get<Parameters<typeof tokenRow>[0]>(`${TOKEN_SELECT} WHERE id = ? AND org_id = ?`, [id, orgId])
  if (!row) throw notFound('token not found')
  return tokenRow(row)
}

/** Tokens counting against the cap: active ones, and rotating ones still inside their grace period. */
export function* tokensInUse(orgId: string, now: number): Step<number> {
  const row = yield* get<{ n: number }>(
    "SELECT count(*) AS n FROM api_tokens WHERE org_id = ? AND (status = 'active' OR (status = 'rotating' AND grace_ends_at > ?))",
    [orgId, now],
  )
  return row?.n ?? 0
}

async function listTokens(deps: TokenDeps, orgId: string) {
  const now = deps.clock.now()
  const rows = await deps.db.all<Parameters<typeof tokenRow>[0]>(`${TOKEN_SELECT} WHERE org_id = ? ORDER BY created_at, id`, [orgId])
  return rows.map((row) => tokenView(tokenRow(row), now))
}

async function getToken(deps: TokenDeps, orgId: string, id: string) {
  return tokenView(await deps.db.read(findOwned(orgId, id)), deps.clock.now())
}

/** A badge URL sits in a public README: the credential it carries must open nothing but badges. */
export const BADGE_ALONE = 'invalid body: the badge scope cannot be combined with another scope (a badge URL must never carry a CI credential)'

const INSERT_TOKEN = 'INSERT INTO api_tokens (id, org_id, name, secret_hash, scopes, agent_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'

/**
 * Creates a token under the plan's cap; the secret is returned here once and only its hash is stored.
 * The count and the insert run under the organisation's token lock: two requests racing for the last
 * free slot cannot both pass.
 */
async function createToken(deps: TokenDeps, who: Actor, input: { name: string; scopes: string[]; agentType: string }) {
  const now = deps.clock.now()
  const scopes = [...new Set(input.scopes)]
  if (scopes.includes('badge') && scopes.length > 1) throw badRequest(BADGE_ALONE)
  const { id, secret } = newToken()
  const line = await deps.db.tx(
    (function* () {
      const limit = PLAN_LIMITS[who.plan].tokens
      if (limit !== null) {
        yield* lock(`tokens:${who.orgId}`)
        const used = yield* tokensInUse(who.orgId, now)
        if (used >= limit)
          throw paymentRequired(`token limit reached for your plan (${used}/${limit} tokens used). Upgrade to create more tokens.`)
      }
      yield* run(INSERT_TOKEN, [id, who.orgId, input.name, sha256Hex(secret), JSON.stringify(scopes), input.agentType, now])
      return yield* recordAudit(now, {
        action: 'token.create',
        fields: { org_id: who.orgId, token_id: id, scopes, agent_type: input.agentType },
        orgId: who.orgId,
        actor: who.actor,
        target: id,
        remote: who.remote,
      })
    })(),
  )
  deps.logger.audit(line)
  return { id, secret, name: input.name, scopes, agent_type: input.agentType }
}

async function updateAgentType(deps: TokenDeps, who: Actor, id: string, agentType: string) {
  const now = deps.clock.now()
  const { row, line } = await deps.db.tx(
    (function* () {
      const before = yield* findOwned(who.orgId, id)
      yield* run('UPDATE api_tokens SET agent_type = ? WHERE id = ?', [agentType, id])
      const line = yield* recordAudit(now, {
        action: 'token.update',
        fields: { token_id: id, agent_type: agentType, previous_agent_type: before.agentType },
        orgId: who.orgId,
        actor: who.actor,
        target: id,
        remote: who.remote,
      })
      return { row: { ...before, agentType }, line }
    })(),
  )
  deps.verifier.invalidate(id)
  deps.logger.audit(line)
  return tokenView(row, now)
}

/**
 * Issues a new token with the same name, scopes and agent type; the old one turns `rotating` and keeps
 * working until the grace period ends. Allowed at the cap (the old one is on its way out). A token
 * still in grace from the previous rotation of this one is revoked at once: a chain of rotations never
 * leaves more than two valid tokens (the active one and its one predecessor). The token's row is
 * locked first, so two rotations of one token at once cannot both succeed.
 */
async function rotateToken(deps: TokenDeps, who: Actor, id: string) {
  const now = deps.clock.now()
  const next = newToken()
  let cut: string[] = []
  const line = await deps.db.tx(
    (function* () {
      yield* lock(`token:${id}`)
      const old = yield* findOwned(who.orgId, id)
      const status = effectiveStatus(old, now)
      if (status !== 'active') throw conflict(`token is ${status} and cannot be rotated`)
      cut = (yield* all<{ id: string }>("SELECT id FROM api_tokens WHERE replaced_by = ? AND status = 'rotating' AND grace_ends_at > ?", [id, now])).map(
        (row) => row.id,
      )
      for (const ended of cut) yield* run("UPDATE api_tokens SET status = 'revoked', grace_ends_at = NULL WHERE id = ?", [ended])
      yield* run(INSERT_TOKEN, [next.id, who.orgId, old.name, sha256Hex(next.secret), JSON.stringify(old.scopes), old.agentType, now])
      yield* run("UPDATE api_tokens SET status = 'rotating', grace_ends_at = ?, replaced_by = ? WHERE id = ?", [now + deps.graceSeconds * 1000, next.id, id])
      return yield* recordAudit(now, {
        action: 'token.rotate',
        fields: { old_id: id, new_id: next.id, ...(cut.length > 0 ? { grace_ended: cut } : {}) },
        orgId: who.orgId,
        actor: who.actor,
        target: id,
        remote: who.remote,
      })
    })(),
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
async function revokeToken(deps: TokenDeps, who: Actor, id: string): Promise<void> {
  const now = deps.clock.now()
  const line = await deps.db.tx(
    (function* () {
      yield* lock(`token:${id}`)
      const row = yield* findOwned(who.orgId, id)
      if (row.status === 'revoked') return null
      yield* run("UPDATE api_tokens SET status = 'revoked', grace_ends_at = NULL WHERE id = ?", [id])
      return yield* recordAudit(now, { action: 'token.revoke', fields: { token_id: id }, orgId: who.orgId, actor: who.actor, target: id, remote: who.remote })
    })(),
  )
  deps.verifier.invalidate(id)
  deps.ended?.(id)
  if (line) deps.logger.audit(line)
}

/**
 * The tokens feature's operations bound to their dependencies: the one service shape of the codebase
 * (`createXService(deps)` returning plain functions that take plain values and throw HttpErrors).
 */
export function createTokenService(deps: TokenDeps) {
  return {
    list: (orgId: string) => listTokens(deps, orgId),
    get: (orgId: string, id: string) => getToken(deps, orgId, id),
    create: (who: Actor, input: { name: string; scopes: string[]; agentType: string }) => createToken(deps, who, input),
    updateAgentType: (who: Actor, id: string, agentType: string) => updateAgentType(deps, who, id, agentType),
    rotate: (who: Actor, id: string) => rotateToken(deps, who, id),
    revoke: (who: Actor, id: string) => revokeToken(deps, who, id),
  }
}

export type TokenService = ReturnType<typeof createTokenService>
