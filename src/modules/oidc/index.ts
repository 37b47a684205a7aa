import { Elysia, t } from 'elysia'
import { actorOf } from '../../http/actor'
import type { AuthPlugin, Principal } from '../../http/auth'
import type { Peer } from '../../http/client-address'
import { errors } from '../../http/schemas'
import { SECURITY } from '../../http/security'
import { BindingParams, BindingView, CreateBindingBody } from './model'
import type { BindingService } from './service'

/** /v1/oidc/bindings: which GitHub repositories may record runs without a stored token (session only). */
export function oidcModule(deps: { auth: AuthPlugin; bindings: BindingService; trustProxy: boolean }) {
  const detail = (summary: string, description?: string) => ({ tags: ['Tokens'], summary, security: SECURITY.session, ...(description ? { description } : {}) })
  const who = (principal: Principal, request: Request, server: Peer) => actorOf(principal, request, server, deps.trustProxy)
  return new Elysia({ name: 'oidc' })
    .use(deps.auth)
    .post(
      '/v1/oidc/bindings',
      ({ principal, body, request, server, set }) => {
        set.status = 201
        return deps.bindings.create(who(principal, request, server), body)
      },
      {
        auth: 'session',
        body: CreateBindingBody,
        response: { 201: BindingView, ...errors(400, 401, 402, 403, 408, 409, 415, 429) },
        detail: detail(
          'Bind a GitHub repository for tokenless CI (OIDC)',
          "Runs of GitHub Actions in `repository` (and, when given, only its `workflow` file and `environment`) may record runs of `repo` with their OIDC token instead of an API token. The repository's immutable ids are taken from the body or from the first verified token; a token with the same name but other ids (a repository deleted and recreated, or renamed under a new owner) is refused. Free plan: one binding.",
        ),
      },
    )
    .get('/v1/oidc/bindings', async ({ principal }) => ({ bindings: await deps.bindings.list(principal.org.id) }), {
      auth: 'session',
      response: { 200: t.Object({ bindings: t.Array(BindingView) }, { description: "The organisation's OIDC bindings" }), ...errors(401, 403, 429) },
      detail: detail('List OIDC bindings'),
    })
    .delete(
      '/v1/oidc/bindings/:id',
      async ({ principal, params, request, server, set }) => {
        await deps.bindings.remove(who(principal, request, server), params.id)
        set.status = 204
      },
      {
        auth: 'session',
        params: BindingParams,
        response: { 204: t.Void({ description: 'Removed: its runs can no longer record' }), ...errors(400, 401, 403, 404, 408, 415, 429) },
        detail: detail('Remove an OIDC binding'),
      },
    )
}
