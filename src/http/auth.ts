import { Elysia } from 'elysia'
import { andThen, type MaybePromise } from '../lib/maybe'
import type { Config } from '../config'
import type { Plan } from '../db/schema'
import type { BodyReader } from './body'
import { clientAddress, type Peer } from './client-address'
import { forbidden, HttpError, invalidToken, unauthorized } from './errors'

/** The caller's organisation as every guarded route needs it (plan → limits and caps). */
export interface OrgSummary {
  id: string
  slug: string
  plan: Plan
  billingStatus: 'active' | 'past_due'
}

/**
 * What the features tell this module about credentials; createApp wires it to the tokens, sessions,
 * stream-ticket, organisation and audit modules, so `http/` depends on none of them.
 */
export interface CredentialResolver {
  token(raw: string): MaybePromise<{ tokenId: string; orgId: string; scopes: string[]; agentType: string; bucket: string } | null>
  session(raw: string): MaybePromise<{ sessionId: string; userId: string; orgId: string } | null>
  ticket(raw: string): MaybePromise<{ orgId: string; repo: string; parent: string } | null>
  org(id: string): MaybePromise<OrgSummary | null>
  /**
   * The rate-limit bucket of an accepted token (its successor's during a rotation grace), null when it is
   * no longer accepted; `fresh` reads the database, whatever is cached (open streams' periodic re-check).
   */
  tokenBucket(id: string, fresh?: boolean): MaybePromise<string | null>
  sessionValid(id: string): MaybePromise<boolean>
  /**
   * An OIDC token of a CI run (GitHub Actions), verified and matched to a binding: the binding (which
   * records runs of one repository of one organisation), or why it was refused. Absent: OIDC is off.
   */
  oidc?(raw: string): Promise<{ bindingId: string; orgId: string; repo: string; sha?: string; ref?: string } | { refused: string; code: string }>
  /** Records one refusal (row and `[audit]` line); must not reject, since a refusal cannot depend on it. */
  audit(event: { action: string; fields: Record<string, string>; actor: string; remote: string }): MaybePromise<void>
}

export type { MaybePromise }

/**
 * `boundRepo`: the principal came from a stream ticket (and may read that repository's stream only) or an
 * OIDC binding (and may record runs of that repository only). `run`: what an OIDC token says of its CI run.
 */
export type Principal = (
  | { kind: 'session'; org: OrgSummary; sessionId: string; userId: string }
  | { kind: 'token'; org: OrgSummary; tokenId: string; scopes: string[]; agentType: string; bucket: string }
) & { boundRepo?: string; run?: { sha?: string; ref?: string } }

/**
 * What a route accepts: a session; an API token with `execute`; any reader (session, `execute` or `read`
 * token); or, for the event stream, a reader or a stream ticket in `?ticket=` (browsers' EventSource).
 */
export type Need = 'session' | 'execute' | 'read' | 'stream'


/** Rate limiting hooks in here once the credential is known (see http/rate-limit.ts). */
export type CredentialLimiter = (principal: Principal, set: { headers: Record<string, unknown> }) => MaybePromise<void>

/** The one name of a credential (`t:<token id>`, `s:<session id>`), for stream slots, tickets and ending what it opened. */
export const tokenCredential = (id: string) => `t:${id}`
export const sessionCredential = (id: string) => `s:${id}`
export function credentialKey(principal: Principal): string {
  return principal.kind === 'token' ? tokenCredential(principal.tokenId) : sessionCredential(principal.sessionId)
}

export interface AuthDeps {
  config: Config
  credentials: CredentialResolver
  /**
   * Takes one refusal from the client address's allowance and throws 429 when it is spent: every refusal
   * writes an audit row, so unauthenticated floods must not turn into unbounded writes.
   */
  limitDenials?: (address: string) => MaybePromise<void>
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
  const { credentials } = deps

  /**
   * Counts one refused credential against the client address (429 once its allowance is spent) and
   * audits it. Every route that takes a credential, including a badge's `?token=`, refuses through here.
   */
  async function refuse(request: Request, server: Peer, reason: string): Promise<void> {
    const remote = clientAddress(request, server, deps.config.trustProxy)
    await deps.limitDenials?.(remote)
    await credentials.audit({
      action: 'auth.denied',
      fields: { method: request.method, path: new URL(request.url).pathname, reason, remote },
      actor: 'anonymous',
      remote,
    })
  }

  async function deny(request: Request, server: Peer, reason: string, error: HttpError): Promise<never> {
    await refuse(request, server, reason)
    throw error
  }

  // Synchronous while the token and organisation are cached (the hot path pays no promise).
  function principalOf(raw: string): MaybePromise<Principal | null> {
    if (raw.startsWith('nlp_'))
      return andThen(credentials.token(raw), (token) =>
        token === null
          ? null
          : andThen(credentials.org(token.orgId), (org): Principal | null =>
              org ? { kind: 'token', org, tokenId: token.tokenId, scopes: token.scopes, agentType: token.agentType, bucket: token.bucket } : null,
            ),
      )
    if (raw.startsWith('nls_'))
      return andThen(credentials.session(raw), (session) =>
        session === null
          ? null
          : andThen(credentials.org(session.orgId), (org): Principal | null =>
              org ? { kind: 'session', org, sessionId: session.sessionId, userId: session.userId } : null,
            ),
      )
    return null
  }

  /** A ticket's parent credential as a read-only principal bound to the ticket's repository, or null. */
  async function ticketPrincipal(raw: string): Promise<Principal | null> {
    const ticket = await credentials.ticket(raw)
    if (!ticket) return null
    const org = await credentials.org(ticket.orgId)
    if (!org) return null
    const id = ticket.parent.slice(2)
    if (ticket.parent === tokenCredential(id)) {
      // A ticket minted in a rotation grace spends the successor's allowance, like its parent does.
      const bucket = await credentials.tokenBucket(id)
      return bucket !== null ? { kind: 'token', org, tokenId: id, scopes: ['read'], agentType: '', bucket, boundRepo: ticket.repo } : null
    }
    return (await credentials.sessionValid(id)) ? { kind: 'session', org, sessionId: id, userId: '', boundRepo: ticket.repo } : null
  }

  function authenticate(need: Need, request: Request, server: Peer): MaybePromise<Principal> {
    // Built only when refusing: an Error captures a stack trace, too dear for every request.
    const missing = () => (need === 'session' ? unauthorized() : invalidToken())
    const raw = bearer(request)
    if (raw === null && need === 'stream') {
      const query = request.url.indexOf('?')
      const ticket = query === -1 ? null : new URLSearchParams(request.url.slice(query + 1)).get('ticket')
      if (ticket !== null)
        return ticketPrincipal(ticket).then((principal) => principal ?? deny(request, server, 'invalid_ticket', invalidToken()))
    }
    if (raw === null) return deny(request, server, 'missing_token', missing())
    // A JWT where a run is recorded: tokenless CI (the token never names a stored secret, so it cannot
    // start `nlp_`/`nls_`); anywhere else it is no credential of ours.
    if (need === 'execute' && credentials.oidc && raw.startsWith('eyJ')) return oidcPrincipal(raw, request, server)
    return andThen(principalOf(raw), (principal) => (principal === null ? deny(request, server, 'invalid_token', missing()) : admit(need, principal, request, server)))
  }

  /** A run's OIDC token as a principal that may record runs of its binding's repository only; refusals say why. */
  async function oidcPrincipal(raw: string, request: Request, server: Peer): Promise<Principal> {
    const result = await credentials.oidc!(raw)
    // The issuer's keys out of reach is not the caller's fault and not a refusal: retry later, nothing counted.
    if ('refused' in result && result.code === 'keys_unavailable') throw new HttpError(503, 'OIDC issuer keys unavailable: try again later', { 'retry-after': '5' })
    if ('refused' in result) return deny(request, server, `oidc.${result.code}`, new HttpError(401, `invalid token: ${result.refused}`))
    const org = await credentials.org(result.orgId)
    if (!org) return deny(request, server, 'oidc.no_organisation', invalidToken())
    return { kind: 'token', org, tokenId: result.bindingId, scopes: ['execute'], agentType: 'github-actions', bucket: `oidc:${result.bindingId}`, boundRepo: result.repo, run: { sha: result.sha, ref: result.ref } }
  }

  function admit(need: Need, principal: Principal, request: Request, server: Peer): MaybePromise<Principal> {
    const allowed =
      need === 'session'
        ? principal.kind === 'session'
        : need === 'execute'
          ? principal.kind === 'token' && principal.scopes.includes('execute')
          : principal.kind === 'session' || principal.scopes.includes('execute') || principal.scopes.includes('read')
    if (!allowed) return deny(request, server, principal.kind === 'session' ? 'session_not_accepted' : 'insufficient_scope', forbidden())
    return principal
  }

  return Object.assign(authenticate, {
    refuse,
    /**
     * Whether a credential resolved earlier is still accepted (revoked, past grace, logged out or expired →
     * false); `fresh` reads the database rather than a cache another instance's lost message left stale.
     */
    stillValid(principal: Principal, fresh = false): MaybePromise<boolean> {
      return principal.kind === 'token' ? andThen(credentials.tokenBucket(principal.tokenId, fresh), (bucket) => bucket !== null) : credentials.sessionValid(principal.sessionId)
    },
  })
}

export type Authenticate = ReturnType<typeof createAuthenticator>


/**
 * The `auth` macro: `{ auth: 'session' | 'execute' | 'read' }` on a route resolves `principal`.
 * The credential is checked before anything else about the request: for routes with a body in the parse
 * stage, before a byte of the body is read (a stalled upload without a valid credential holds nothing),
 * otherwise in `transform`, before query validation; an unauthenticated caller learns nothing from
 * validation messages.
 */
export function authPlugin(authenticate: Authenticate, limiter: CredentialLimiter | undefined, body: BodyReader) {
  // Where the principal waits between the hook that resolves it and `resolve`: one map per app, keyed by
  // the request (a property added to Elysia's context object would change its shape and cost every route).
  const resolved = new WeakMap<Request, Principal>()
  const gate = (need: Need, request: Request, server: Peer, set: { headers: Record<string, unknown> }): MaybePromise<void> => {
    if (resolved.has(request)) return
    return andThen(authenticate(need, request, server), (principal) =>
      andThen(limiter?.(principal, set), () => {
        resolved.set(request, principal)
      }),
    )
  }
  return new Elysia({ name: 'auth' }).macro({
    auth: (need: Need) => ({
      parse({ request, server, set }) {
        return andThen(gate(need, request, server, set), () => body.json(request, server))
      },
      transform({ request, server, set }) {
        return gate(need, request, server, set)
      },
      resolve({ request }) {
        return { principal: resolved.get(request)! }
      },
    }),
  })
}

/** The one auth plugin of an app: built once by createApp, `.use`d by every feature with guarded routes. */
export type AuthPlugin = ReturnType<typeof authPlugin>
