import { createRemoteJWKSet, decodeJwt, errors, jwtVerify, type JWTPayload } from 'jose'
import type { Clock } from '../../lib/clock'
import type { BindingRow, BindingService } from './service'

/** What a GitHub Actions OIDC token says of the run that holds it (the claims a binding is checked against). */
export interface GithubClaims extends JWTPayload {
  repository: string
  repository_id: string
  repository_owner_id: string
  workflow_ref?: string
  environment?: string
  sha?: string
  ref?: string
}

/** A verified token's binding, or why it was refused (said in the 401 and the audit line). */
export type OidcResult = { binding: BindingRow; claims: GithubClaims } | { refused: string; code: string; binding?: BindingRow }

/** Asymmetric algorithms only: `none` and HS256 (a "secret" that is the issuer's public key) are refused by jose before any key is used. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']
/** A refetch of an issuer's keys for an unknown `kid` at most this often: no fetch storm from made-up kids. */
const REFETCH_MS = 30_000

export const looksLikeJwt = (raw: string) => raw.startsWith('eyJ') && raw.split('.').length === 3

/**
 * Verifies GitHub Actions OIDC tokens (PyPI's trusted publishing is the model): the issuer must be one of
 * OIDC_ISSUERS, its keys come from its discovery document and are cached (refetched at most every 30 s, for
 * an unknown kid), `aud` must be OIDC_AUDIENCE, 60 s of clock skew at most; the repository must be bound,
 * and by its immutable ids once they are known, and the workflow and environment must be the binding's.
 */
export function createOidcVerifier(deps: { issuers: string[]; audience: string; bindings: BindingService; clock: Clock; fetch?: typeof fetch }) {
  const get = deps.fetch ?? fetch
  const keySets = new Map<string, Promise<ReturnType<typeof createRemoteJWKSet>>>()

  function keysOf(issuer: string) {
    let keys = keySets.get(issuer)
    if (!keys) {
      keys = (async () => {
        const res = await get(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) })
        if (!res.ok) throw new Error(`discovery answered ${res.status}`)
        const { jwks_uri } = (await res.json()) as { jwks_uri?: string }
        if (typeof jwks_uri !== 'string') throw new Error('discovery has no jwks_uri')
        return createRemoteJWKSet(new URL(jwks_uri), { cooldownDuration: REFETCH_MS, cacheMaxAge: 10 * 60_000, timeoutDuration: 5000 })
      })()
      // A failed discovery is tried again by the next token, not remembered.
      keys.catch(() => keySets.delete(issuer))
      keySets.set(issuer, keys)
    }
    return keys
  }

  return async function verify(raw: string): Promise<OidcResult> {
    let issuer: string | undefined
    try {
      issuer = decodeJwt(raw).iss
    } catch {
      return { refused: 'not a JWT', code: 'malformed' }
    }
    if (!issuer || !deps.issuers.includes(issuer)) return { refused: 'unknown issuer', code: 'unknown_issuer' }
    let claims: GithubClaims
    try {
      const { payload } = await jwtVerify(raw, await keysOf(issuer), {
        issuer,
        audience: deps.audience,
        algorithms: ALGORITHMS,
        clockTolerance: 60,
        currentDate: new Date(deps.clock.now()),
        requiredClaims: ['exp', 'repository', 'repository_id', 'repository_owner_id'],
      })
      claims = payload as GithubClaims
    } catch (error) {
      return refusal(error)
    }
    const binding = await deps.bindings.byRepository(claims.repository)
    if (!binding) return { refused: 'repository not bound', code: 'unbound' }
    let pinned = binding
    if (binding.repository_id === null) pinned = (await deps.bindings.pin(binding.id, String(claims.repository_id), String(claims.repository_owner_id))) ?? binding
    if (pinned.repository_id !== String(claims.repository_id) || (pinned.repository_owner_id !== null && pinned.repository_owner_id !== String(claims.repository_owner_id)))
      return { refused: 'repository ids differ from the binding', code: 'id_mismatch', binding: pinned }
    if (pinned.workflow !== null && workflowFile(claims.workflow_ref) !== pinned.workflow) return { refused: 'workflow differs from the binding', code: 'workflow_mismatch', binding: pinned }
    if (pinned.environment !== null && claims.environment !== pinned.environment) return { refused: 'environment differs from the binding', code: 'environment_mismatch', binding: pinned }
    return { binding: pinned, claims }
  }
}

/** `owner/repo/.github/workflows/ci.yml@refs/heads/main` → `ci.yml`. */
function workflowFile(ref: string | undefined): string | null {
  if (!ref) return null
  const path = ref.split('@', 1)[0]!
  return path.slice(path.lastIndexOf('/') + 1)
}

function refusal(error: unknown): OidcResult {
  if (error instanceof errors.JWTExpired) return { refused: 'token expired', code: 'expired' }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return { refused: 'wrong audience', code: 'audience' }
    if (error.claim === 'nbf' || error.claim === 'iat') return { refused: 'token not yet valid', code: 'not_yet_valid' }
    return { refused: `claim ${error.claim} is missing or invalid`, code: 'claims' }
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return { refused: 'signing algorithm not allowed', code: 'algorithm' }
  if (error instanceof errors.JWKSNoMatchingKey) return { refused: 'unknown signing key', code: 'unknown_key' }
  if (error instanceof errors.JWSSignatureVerificationFailed) return { refused: 'bad signature', code: 'signature' }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return { refused: 'not a valid JWT', code: 'malformed' }
  return { refused: 'issuer keys unavailable', code: 'keys_unavailable' }
}

export type OidcVerifier = ReturnType<typeof createOidcVerifier>
