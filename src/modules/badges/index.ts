import { Elysia, t } from 'elysia'
import { documentedOnly, errors } from '../../http/schemas'
import type { Authenticate } from '../../http/auth'
import type { Peer } from '../../http/client-address'
import type { BadgeData } from './service'
import { repoFromPath, REPO_MAX_LENGTH } from '../repos/name'
import type { Renderer, Rendered } from './render'

const HEADERS = {
  'content-type': 'image/svg+xml',
  'cache-control': 'public, max-age=60',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
}

/** Strong comparison against If-None-Match (a list, or `*`). */
function matches(ifNoneMatch: string | null, etag: string): boolean {
  if (ifNoneMatch === null) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((tag) => tag.trim() === etag)
}

/** The SVG, or an empty 304 when the client's copy is current (a string: nothing for Elysia to encode). */
function answer(rendered: Rendered, request: Request, set: { status?: number | string; headers: Record<string, unknown> }): string | Buffer {
  Object.assign(set.headers, HEADERS)
  set.headers.etag = rendered.etag
  if (matches(request.headers.get('if-none-match'), rendered.etag)) {
    set.status = 304
    return ''
  }
  return rendered.svg
}

const Params = t.Object({
  org: t.String({ maxLength: 64 }),
  repo: t.String({ maxLength: REPO_MAX_LENGTH, description: 'Repository name; a monorepo service as `services/go-svc` or `services%2Fgo-svc`' }),
})
const Svg = t.String({ description: 'The picture (image/svg+xml)' })
const NotModified = t.String({ description: 'Not modified (ETag matched)' })
const common = {
  branch: t.Optional(t.String({ minLength: 1, maxLength: 255, error: 'branch must be a string of 1-255 characters' })),
  token: t.Optional(t.String({ maxLength: 200, description: 'A `badge` or `read` API token of the organisation, for a private repository (never an execute-only token: badge URLs are public)' })),
}

/** Public SVG badges and trend graphs: always 200 with a picture (grey `unknown` when there is nothing to show). */
export function badgesModule(deps: { data: BadgeData; renderer: Renderer; refuse: Authenticate['refuse'] }) {
  const { data, renderer } = deps
  const refusals = (request: Request, server: Peer) => (reason: string) => deps.refuse(request, server, reason)
  const badgeQuery = t.Object({
    ...common,
    label: t.Optional(t.String({ minLength: 1, maxLength: 40, error: 'label must be a string of 1-40 characters' })),
    style: t.Optional(t.Union([t.Literal('flat'), t.Literal('flat-square'), t.Literal('for-the-badge')], { error: 'style must be one of flat, flat-square, for-the-badge' })),
  })
  const trendQuery = t.Object({
    ...common,
    n: t.Optional(t.Integer({ minimum: 2, maximum: 200, default: 30, error: 'n must be an integer from 2 to 200' })),
  })
  type Ctx<Q> = { params: { org: string; repo?: string; '*'?: string }; query: Q; request: Request; server: Peer; set: { status?: number | string; headers: Record<string, unknown> } }
  const badge = async ({ params, query, request, server, set }: Ctx<typeof badgeQuery.static>) => {
    const coverage = await data.coverage(params.org, repoFromPath(params), query.branch, query.token, refusals(request, server))
    return answer(await renderer.badge(query.label ?? 'coverage', coverage, query.style ?? 'flat'), request, set)
  }
  const trend = async ({ params, query, request, server, set }: Ctx<typeof trendQuery.static>) => {
    const values = await data.history(params.org, repoFromPath(params), query.branch, query.n ?? 30, query.token, refusals(request, server))
    return answer(await renderer.trend('coverage', values), request, set)
  }
  // The picture is sent as is (a Buffer), never encoded against a schema: the responses are stated for the document only.
  const picture = {
    responses: documentedOnly({ 200: Svg, 304: NotModified, ...errors(400, 429) }),
    'x-media': { 200: 'image/svg+xml' },
    'x-headers': [{ name: 'If-None-Match', description: 'A strong ETag from an earlier answer: 304 with no body while the picture is unchanged' }],
  }
  const badgeDetail = { tags: ['Badges'], summary: 'Coverage badge (SVG)', ...picture }
  const trendDetail = { tags: ['Badges'], summary: 'Coverage trend graph (SVG)', ...picture }
  return new Elysia({ name: 'badges' })
    .get('/v1/badge/:org/:repo', badge, { params: Params, query: badgeQuery, detail: badgeDetail })
    .get('/v1/badge/:org/*', badge, { query: badgeQuery, detail: { ...badgeDetail, hide: true } })
    .get('/v1/trend/:org/:repo', trend, { params: Params, query: trendQuery, detail: trendDetail })
    .get('/v1/trend/:org/*', trend, { query: trendQuery, detail: { ...trendDetail, hide: true } })
}
