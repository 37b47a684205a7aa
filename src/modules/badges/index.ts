import { Elysia } from 'elysia'
import { documents, documentedOnly, errors } from '../../http/schemas'
import type { Authenticate } from '../../http/auth'
import type { Peer } from '../../http/client-address'
import type { BadgeData } from './service'
import { repoFromPath } from '../repos/name'
import { BadgeQuery, NotModified, PictureParams, Svg, TrendQuery } from './model'
import { faceOf, type Renderer, type Rendered } from './render'

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

/** HTTP dates have whole seconds: a run recorded at 09:00:00.700 is "Last-Modified: … 09:00:00 GMT". */
const httpDate = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toUTCString()

/**
 * Whether the client's copy is current: by its ETag when it sent If-None-Match (which then decides alone,
 * RFC 9110 §13.2.2), else by If-Modified-Since against the shown run's time.
 */
function current(request: Request, etag: string, shownAt: number | null): boolean {
  const ifNoneMatch = request.headers.get('if-none-match')
  if (ifNoneMatch !== null) return matches(ifNoneMatch, etag)
  const since = request.headers.get('if-modified-since')
  if (since === null || shownAt === null) return false
  const date = Date.parse(since)
  return !Number.isNaN(date) && Math.floor(shownAt / 1000) * 1000 <= date
}

/**
 * The SVG, or an empty 304 when the client's copy is current (a string: nothing for Elysia to encode).
 * `shownAt`: when the shown run was recorded (Last-Modified), null when the picture shows no run.
 */
function answer(rendered: Rendered, shownAt: number | null, request: Request, set: { status?: number | string; headers: Record<string, unknown> }): string | Buffer {
  Object.assign(set.headers, HEADERS)
  set.headers.etag = rendered.etag
  if (shownAt !== null) set.headers['last-modified'] = httpDate(shownAt)
  if (current(request, rendered.etag, shownAt)) {
    set.status = 304
    return ''
  }
  return rendered.svg
}

/** Public SVG badges and trend graphs: always 200 with a picture (grey `unknown` when there is nothing to show). */
export function badgesModule(deps: { data: BadgeData; renderer: Renderer; refuse: Authenticate['refuse'] }) {
  const { data, renderer } = deps
  const refusals = (request: Request, server: Peer) => (reason: string) => deps.refuse(request, server, reason)
  type Ctx<Q> = { params: { org: string; repo?: string; '*'?: string }; query: Q; request: Request; server: Peer; set: { status?: number | string; headers: Record<string, unknown> } }
  const badge = async ({ params, query, request, server, set }: Ctx<typeof BadgeQuery.static>) => {
    const shown = await data.coverage(params.org, repoFromPath(params), query.branch, query.token, refusals(request, server))
    const run = shown?.run ?? null
    return answer(await renderer.badge(query.label ?? 'coverage', faceOf(run, shown?.settings), query.style ?? 'flat'), run?.at ?? null, request, set)
  }
  const trend = async ({ params, query, request, server, set }: Ctx<typeof TrendQuery.static>) => {
    const { points, settings } = await data.history(params.org, repoFromPath(params), query.branch, query.n ?? 30, query.token, refusals(request, server))
    return answer(await renderer.trend('coverage', points, { theme: query.theme, scale: query.scale, settings }), points.length ? points[points.length - 1]!.at : null, request, set)
  }
  // The picture is sent as is (a Buffer), never encoded against a schema: the responses are stated for the document only.
  const picture = {
    responses: documentedOnly({ 200: Svg, 304: NotModified, ...errors(400, 429) }),
    ...documents({
      media: { 200: 'image/svg+xml' },
      headers: [
        { name: 'If-None-Match', description: 'A strong ETag from an earlier answer: 304 with no body while the picture is unchanged' },
        { name: 'If-Modified-Since', description: 'The Last-Modified of an earlier answer (the time of the shown run): 304 while no newer run is shown; ignored when If-None-Match is sent' },
      ],
    }),
  }
  const badgeDetail = { tags: ['Badges'], summary: 'Coverage badge (SVG)', ...picture }
  const trendDetail = { tags: ['Badges'], summary: 'Coverage trend graph (SVG)', ...picture }
  return new Elysia({ name: 'badges' })
    .get('/v1/badge/:org/:repo', badge, { params: PictureParams, query: BadgeQuery, detail: badgeDetail })
    .get('/v1/badge/:org/*', badge, { query: BadgeQuery, detail: { ...badgeDetail, hide: true } })
    .get('/v1/trend/:org/:repo', trend, { params: PictureParams, query: TrendQuery, detail: trendDetail })
    .get('/v1/trend/:org/*', trend, { query: TrendQuery, detail: { ...trendDetail, hide: true } })
}
