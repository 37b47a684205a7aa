import { Elysia, t } from 'elysia'
import type { Authenticate, Principal } from '../../http/auth'
import { type AuthPlugin } from '../../http/auth'
import { errors } from '../../http/schemas'
import { SECURITY } from '../../http/security'
import { CreatedToken, CreateTokenBody, RotatedToken, TokenParams, TokenView, AgentType } from './model'
import { createTokenService, type TokenDeps } from './service'
import { actorOf } from '../../http/actor'
import type { Peer } from '../../http/client-address'

export function tokensModule(deps: TokenDeps & { auth: AuthPlugin; trustProxy: boolean }) {
  const detail = (summary: string) => ({ tags: ['Tokens'], summary, security: SECURITY.session })
  const who = (principal: Principal, request: Request, server: Peer) => actorOf(principal, request, server, deps.trustProxy)
  const tokens = createTokenService(deps)
  return new Elysia({ name: 'tokens' })
    .use(deps.auth)
    .get('/v1/tokens', async ({ principal }) => ({ tokens: await tokens.list(principal.org.id) }), {
      auth: 'session',
      response: { 200: t.Object({ tokens: t.Array(TokenView) }, { description: "The organisation's tokens" }), ...errors(401, 403, 429) },
      detail: detail('List API tokens'),
    })
    .post(
      '/v1/tokens',
      ({ principal, body, request, server, set }) => {
        set.status = 201
        return tokens.create(who(principal, request, server), { name: body.name, scopes: body.scopes ?? ['execute'], agentType: body.agent_type ?? '' })
      },
      {
        auth: 'session',
        body: CreateTokenBody,
        response: { 201: CreatedToken, ...errors(400, 401, 402, 403, 408, 415, 429) },
        detail: detail('Create an API token (secret shown once)'),
      },
    )
    .get('/v1/tokens/:id', ({ principal, params }) => tokens.get(principal.org.id, params.id), {
      auth: 'session',
      params: TokenParams,
      response: { 200: TokenView, ...errors(400, 401, 403, 404, 429) },
      detail: detail('Get one token'),
    })
    .patch('/v1/tokens/:id', ({ principal, params, body, request, server }) => tokens.updateAgentType(who(principal, request, server), params.id, body.agent_type), {
      auth: 'session',
      params: TokenParams,
      body: t.Object({ agent_type: AgentType }, { examples: [{ agent_type: 'claude_code' }] }),
      response: { 200: TokenView, ...errors(400, 401, 403, 404, 408, 415, 429) },
      detail: detail("Change a token's agent type"),
    })
    .post('/v1/tokens/:id/rotate', ({ principal, params, request, server }) => tokens.rotate(who(principal, request, server), params.id), {
      auth: 'session',
      params: TokenParams,
      response: { 200: RotatedToken, ...errors(400, 401, 403, 404, 408, 409, 415, 429) },
      detail: detail('Rotate a token (the old one stays valid for the grace period)'),
    })
    .delete(
      '/v1/tokens/:id',
      async ({ principal, params, request, server, set }) => {
        await tokens.revoke(who(principal, request, server), params.id)
        set.status = 204
      },
      {
        auth: 'session',
        params: TokenParams,
        response: { 204: t.Void({ description: 'Revoked' }), ...errors(400, 401, 403, 404, 408, 415, 429) },
        detail: detail('Revoke a token'),
      },
    )
}
