import { Elysia } from 'elysia'
import type { AuthPlugin } from '../../http/auth'
import { badRequest, forbidden } from '../../http/errors'
import { documents, errors } from '../../http/schemas'
import { SECURITY } from '../../http/security'
import { CompareQuery, Comparison } from './model'
import type { CompareService } from './service'

/** GET /v1/compare: the newest runs of two refs of a repository, side by side. */
export function compareModule(deps: { auth: AuthPlugin; compare: CompareService }) {
  return new Elysia({ name: 'compare' })
    .use(deps.auth)
    .get(
      '/v1/compare',
      ({ principal, query }) => {
        for (const name of ['org', 'repo', 'base', 'head'] as const) if (!query[name]) throw badRequest(`missing required parameter: ${name}`)
        if (query.org !== principal.org.slug) throw forbidden()
        return deps.compare.compare(principal.org.id, query.repo!, query.base!, query.head!)
      },
      {
        auth: 'read',
        query: CompareQuery,
        response: { 200: Comparison, ...errors(400, 401, 403, 404, 429) },
        detail: {
          tags: ['Executions'],
          summary: 'Compare the newest runs of two refs (branches or commits)',
          description:
            'Each ref is a commit when it is 7-64 hex characters and a run of that exact commit exists, else a branch name; its newest run is compared. `outcome` is what the head gets against the base by the head run\'s own thresholds: `pass` when head − base > −warn_threshold, `warn` when > −fail_threshold, else `fail`. `stale_base` is true when the base\'s run is older than the head\'s. 404 names the ref with no run.',
          security: SECURITY.either,
          ...documents({ required: ['org', 'repo', 'base', 'head'] }),
        },
      },
    )
}
