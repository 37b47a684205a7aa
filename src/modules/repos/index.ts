import { Elysia } from 'elysia'
import { type Principal, type AuthPlugin } from '../../http/auth'
import { errors } from '../../http/schemas'
import { SECURITY } from '../../http/security'
import { actorOf } from '../../http/actor'
import type { Peer } from '../../http/client-address'
import { PatchRepoBody, RepoListQuery, RepoPage, RepoParams, RepoView } from './model'
import type { RepoService } from './service'
import { repoFromPath } from './name'

export function reposModule(deps: { repos: RepoService; auth: AuthPlugin; trustProxy: boolean }) {
  const patchOptions = {
    auth: 'session' as const,
    body: PatchRepoBody,
    response: { 200: RepoView, ...errors(400, 401, 403, 404, 408, 413, 415, 429, 503) },
    detail: { tags: ['Repositories'], summary: "Change a repository's default branch or privacy", security: SECURITY.session },
  }
  const patch = ({ principal, params, body, request, server }: { principal: Principal; params: { repo?: string; '*'?: string }; body: typeof PatchRepoBody.static; request: Request; server: Peer }) =>
    deps.repos.update(actorOf(principal, request, server, deps.trustProxy), repoFromPath(params), body)
  return new Elysia({ name: 'repos' })
    .use(deps.auth)
    .get('/v1/repos', ({ principal, query }) => deps.repos.list(principal.org.id, query.limit ?? 50, query.cursor), {
      auth: 'read',
      query: RepoListQuery,
      response: {
        200: RepoPage,
        ...errors(400, 401, 403, 429),
      },
      detail: { tags: ['Repositories'], summary: 'List repositories', security: SECURITY.either },
    })
    .patch('/v1/repos/:repo', patch, { ...patchOptions, params: RepoParams })
    .patch('/v1/repos/*', patch, { ...patchOptions, detail: { ...patchOptions.detail, hide: true } })
}
