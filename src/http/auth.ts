import { Elysia } from 'elysia'
import type { Config } from '../config'
import type { Db } from '../db/client'
import type { Clock } from '../lib/clock'
import type { Logger } from '../lib/logger'
import { auditNow } from '../modules/audit/service'
import type { OrgDirectory, OrgSummary } from '../modules/orgs/directory'
import type { SessionStore } from '../modules/sessions/service'
import type { TokenVerifier } from '../modules/tokens/verifier'
import { clientAddress } from './client-address'
import { forbidden, HttpError, invalidToken, unauthorized } from './errors'

export type Principal =
  | { kind: 'session'; org: OrgSummary; sessionId: string; userId: string }
  | { kind: 'token'; org: OrgSummary; tokenId: string; scopes: string[]; agentType: string }

/** What a route accepts: a session; an API token with `execute`; or any reader (session, `execute` or `read` token). */
export type Need = 'session' | 'execute' | 'read'

/** Rate limiting hooks in here once the credential is known (see http/rate-limit.ts). */
export type CredentialLimiter = (principal: Principal, set: { headers: Record<string, any> }) => void

export interface AuthDeps {
  config: Config
  db: Db
  clock: Clock
  logger: Logger
  sessions: SessionStore
  verifier: TokenVerifier
  orgs: OrgDirectory
  limiter?: CredentialLimiter
  /**
   * Takes one refusal from the client address's allowance and throws 429 when it is spent: every refusal
   * writes an audit row, so unauthenticated floods must not turn into unbounded writes.
   */
  limitDenials?: (address: string) => void
}

/** The `Authorization: Bearer` value: null when the header is missing, '' when it is not a bearer value. */
export function bearer(request: Request): string | null {
  const header = request.headers.get('authorization')
  if (header === null) return null
  // The scheme is case-insensitive (RFC 7235); the value is taken exactly as sent.
  if (header.length < 8 || header.slice(0, 7).toLowerCase() !== 'bearer ') return ''
  return header.slice(7)
}

/**
 * Resolves the caller's credential into a Principal. Session routes answer 401 `unauthorized`; token and
 * read routes answer 401 `invalid token`; a valid credential of the wrong kind or scope answers 403.
 */
export function createAuthenticator(deps: AuthDeps) {
  const { sessions, verifier, orgs } = deps

  function deny(request: Request, server: any, reason: string, error: HttpError): never {
    const remote = clientAddress(request, server, deps.config.trustProxy)
    deps.limitDenials?.(remote)
    auditNow(deps.db.orm, deps.logger, deps.clock.now(), {
      action: 'auth.denied',
      fields: { method: request.method, path: new URL(request.url).pathname, reason, remote },
      actor: 'anonymous',
      remote,
    })
    throw error
  }

  return function authenticate(need: Need, request: Request, server: any): Principal {
    // Built only when refusing: an Error captures a stack trace, too dear for every request.
    const missing = () => (need === 'session' ? unauthorized() : invalidToken())
    const raw = bearer(request)
    if (raw === null) deny(request, server, 'missing_token', missing())
    let principal: Principal | null = null
    if (raw.startsWith('nlp_')) {
      const token = verifier.verify(raw)
      const org = token && orgs.byId(token.orgId)
      if (token && org) principal = { kind: 'token', org, tokenId: token.tokenId, scopes: token.scopes, agentType: token.agentType }
    } else if (raw.startsWith('nls_')) {
      const session = sessions.find(raw)
      const org = session && orgs.byId(session.orgId)
      if (session && org) principal = { kind: 'session', org, sessionId: session.sessionId, userId: session.userId }
    }
    if (principal === null) deny(request, server, 'invalid_token', missing())
    const allowed =
      need === 'session'
        ? principal.kind === 'session'
        : need === 'execute'
          ? principal.kind === 'token' && principal.scopes.includes('execute')
          : principal.kind === 'session' || principal.scopes.includes('execute') || principal.scopes.includes('read')
    if (!allowed) deny(request, server, principal.kind === 'session' ? 'session_not_accepted' : 'insufficient_scope', forbidden())
    return principal
  }
}

export type Authenticate = ReturnType<typeof createAuthenticator>

const resolved = new WeakMap<Request, Principal>()

/**
 * The `auth` macro: `{ auth: 'session' | 'execute' | 'read' }` on a route resolves `principal`.
 * The credential is checked in `transform`, before body and query validation, so an unauthenticated
 * caller gets 401 and learns nothing from validation messages.
 */
export function authPlugin(authenticate: Authenticate, limiter?: CredentialLimiter) {
  return new Elysia({ name: 'auth' }).macro({
    auth: (need: Need) => ({
      transform({ request, server, set }) {
        const principal = authenticate(need, request, server)
        limiter?.(principal, set as any)
        resolved.set(request, principal)
      },
      resolve({ request }) {
        return { principal: resolved.get(request)! }
      },
    }),
  })
}
