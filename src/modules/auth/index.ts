import { andThen } from '../../lib/maybe'
import { Elysia, t } from 'elysia'
import type { BodyReader } from '../../http/body'
import type { AddressLimit } from '../../http/rate-limit'
import { invalidToken } from '../../http/errors'
import { documentedOnly, errors, sendJson } from '../../http/schemas'
import type { OrgDirectory, OrgSummary } from '../orgs/directory'
import type { TokenVerifier, VerifiedToken } from '../tokens/verifier'


export function authModule(deps: { verifier: TokenVerifier; orgs: OrgDirectory; limitAddress?: AddressLimit; body: BodyReader }) {
  return new Elysia({ name: 'auth-validate' }).post(
    '/v1/auth/validate',
    // The hottest authenticated route: a cached token and organisation answer without a promise.
    ({ body, set }) => {
      const valid = (token: VerifiedToken | null, org: OrgSummary | null) => {
        if (!token || !org) throw invalidToken()
        return sendJson(set, { valid: true, org_id: token.orgId, scopes: token.scopes })
      }
      const withOrg = (token: VerifiedToken | null) => {
        if (!token) return valid(null, null)
        const org = deps.orgs.byId(token.orgId)
        return org instanceof Promise ? org.then((o) => valid(token, o)) : valid(token, org)
      }
      const token = deps.verifier.verify(body.token)
      return token instanceof Promise ? token.then(withOrg) : withOrg(token)
    },
    {
      // Limited per address before the body is read.
      parse({ request, server, set }) {
        return andThen(deps.limitAddress?.(request, server, set), () => deps.body.json(request, server))
      },
      // Any body that is not an object with a string `token` is `malformed request`, as the contract says.
      body: t.Object({ token: t.String({ error: 'malformed request', description: 'An API token, `nlp_` + 40 hex' }) }, { error: 'malformed request', examples: [{ token: 'nlp_3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f901' }] }),
      detail: {
        tags: ['Auth'],
        summary: 'Validate an API token (CLI)',
        responses: documentedOnly({
          200: t.Object({ valid: t.Literal(true), org_id: t.String(), scopes: t.Array(t.String()) }, { description: 'The token is valid' }),
          ...errors(400, 401, 408, 415, 429),
        }),
      },
    },
  )
}
