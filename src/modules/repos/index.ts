import { Elysia, t } from 'elysia'
import { type Principal, type AuthPlugin } from '../../http/auth'
import { errors, NullableTimestamp } from '../../http/schemas'
import { SECURITY } from '../../http/security'
import { actorOf } from '../../http/actor'
import type { Peer } from '../../http/client-address'
import type { RepoService } from './service'
import { repoFromPath, REPO_MAX_LENGTH } from './name'

export const RepoView = t.Object({
  name: t.String(),
  default_branch: t.String(),
  private: t.Boolean(),
  executions: t.Integer(),
  latest_coverage: t.Union([t.Number(), t.Null()]),
  last_execution_at: NullableTimestamp,
}, { description: 'A repository' })

export function reposModule(deps: { repos: RepoService; auth: AuthPlugin; trustProxy: boolean }) {
  const patchBody = t.Object({
    default_branch: t.Optional(t.String({ minLength: 1, maxLength: 255, error: 'default_branch must be a string of 1-255 characters' })),
    private: t.Optional(t.Boolean({ error: 'private must be true or false' })),
  }, { examples: [{ default_branch: 'main', private: true }] })
  const patchOptions = {
    auth: 'session' as const,
    body: patchBody,
    response: { 200: RepoView, ...errors(400, 401, 403, 404, 408, 413, 415, 429, 503) },
    detail: { tags: ['Repositories'], summary: "Change a repository's default branch or privacy", security: SECURITY.session },
  }
  const patch = ({ principal, params, body, request, server }: { principal: Principal; params: { repo?: string; '*'?: string }; body: typeof patchBody.static; request: Request; server: Peer }) =>
    deps.repos.update(actorOf(principal, request, server, deps.trustProxy), repoFromPath(params), body)
  return new Elysia({ name: 'repos' })
    .use(deps.auth)
    .get('/v1/repos', ({ principal, query }) => deps.repos.list(principal.org.id, query.limit ?? 50, query.cursor), {
      auth: 'read',
      query: t.Object({
        limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 50, error: 'limit must be an integer from 1 to 100' })),
        cursor: t.Optional(t.String({ maxLength: 2048 })),
      }),
      response: {
        200: t.Object({ repos: t.Array(RepoView), total: t.Integer(), limit: t.Integer(), next_cursor: t.Union([t.String(), t.Null()]) }, { description: "The organisation's repositories, by name" }),
        ...errors(400, 401, 403, 429),
      },
      detail: { tags: ['Repositories'], summary: 'List repositories', security: SECURITY.either },
    })
    .patch('/v1/repos/:repo', patch, { ...patchOptions, params: t.Object({ repo: t.String({ minLength: 1, maxLength: REPO_MAX_LENGTH, description: 'Repository name; a monorepo service as `services/go-svc` or `services%2Fgo-svc`' }) }) })
    .patch('/v1/repos/*', patch, { ...patchOptions, detail: { ...patchOptions.detail, hide: true } })
}
