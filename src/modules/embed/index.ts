import { Elysia, t } from 'elysia'
import type { Config } from '../../config'
import { errors } from '../../http/schemas'
import { PictureParams } from '../badges/model'
import { REPO_PATTERN, REPO_RULE, repoFromPath } from '../repos/name'
import { SLUG_PATTERN } from '../orgs/service'
import { badRequest } from '../../http/errors'

const EmbedQuery = t.Object({
  branch: t.Optional(t.String({ minLength: 1, maxLength: 255, error: 'branch must be a string of 1-255 characters' })),
  style: t.Optional(t.Union([t.Literal('flat'), t.Literal('flat-square'), t.Literal('for-the-badge')], { error: 'style must be one of flat, flat-square, for-the-badge' })),
})

const Snippets = t.Object(
  {
    badge_url: t.String(),
    trend_url: t.String(),
    trend_dark_url: t.String(),
    markdown: t.String({ description: 'The badge, linking to the trend graph' }),
    html: t.String({ description: 'The badge, linking to the trend graph; then the trend graph following the page\'s light or dark mode' }),
    rst: t.String({ description: 'reStructuredText: the badge, linking to the trend graph' }),
  },
  { description: 'Snippets for a README; a private repository\'s pictures also need `token=` of a `badge` token appended to each URL' },
)

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * GET /v1/embed/{org}/{repo}: the badge and trend URLs and ready snippets (Markdown, HTML, reStructuredText)
 * with alt text. Built from the path alone (no database read), so it says nothing of whether the repository
 * exists or is private. URLs start at PUBLIC_URL, else at the address the request came to.
 */
export function embedModule(deps: { config: Config }) {
  const snippets = ({ params, query, request, set }: { params: { org: string; repo?: string; '*'?: string }; query: typeof EmbedQuery.static; request: Request; set: { headers: Record<string, unknown> } }) => {
    // Built from the request's address when PUBLIC_URL is unset: never to be kept by a shared cache.
    set.headers['cache-control'] = 'no-store'
    const base = deps.config.publicUrl ?? new URL(request.url).origin
    const repo = repoFromPath(params)
    // Names in the policy only: their characters need no escaping in a URL, Markdown or reStructuredText.
    if (!new RegExp(SLUG_PATTERN).test(params.org)) throw badRequest('invalid params: org is not an organisation slug')
    if (!new RegExp(REPO_PATTERN).test(repo)) throw badRequest(`invalid params: ${REPO_RULE}`)
    const path = `${params.org}/${repo}`
    const badgeQuery = new URLSearchParams()
    if (query.branch) badgeQuery.set('branch', query.branch)
    if (query.style) badgeQuery.set('style', query.style)
    const trendQuery = new URLSearchParams(query.branch ? { branch: query.branch } : {})
    const withQuery = (url: string, q: URLSearchParams) => (q.size ? `${url}?${q}` : url)
    const badge = withQuery(`${base}/v1/badge/${path}`, badgeQuery)
    const trend = withQuery(`${base}/v1/trend/${path}`, trendQuery)
    const dark = withQuery(`${base}/v1/trend/${path}`, new URLSearchParams({ ...Object.fromEntries(trendQuery), theme: 'dark' }))
    const alt = `coverage of ${params.org}/${repo}`
    return {
      badge_url: badge,
      trend_url: trend,
      trend_dark_url: dark,
      markdown: `[![${alt}](${badge})](${trend})`,
      html:
        `<a href="${escapeHtml(trend)}"><img src="${escapeHtml(badge)}" alt="${escapeHtml(alt)}"></a>\n` +
        `<picture>\n  <source media="(prefers-color-scheme: dark)" srcset="${escapeHtml(dark)}">\n  <img src="${escapeHtml(trend)}" alt="${escapeHtml(`coverage trend of ${params.org}/${repo}`)}" width="320" height="100">\n</picture>`,
      rst: `.. image:: ${badge}\n   :alt: ${alt}\n   :target: ${trend}`,
    }
  }
  const detail = {
    tags: ['Badges'],
    summary: 'README snippets for the badge and trend graph (Markdown, HTML, reStructuredText)',
    description: 'Public, and built from the path alone: it reads nothing, so it tells nothing of the repository. Set PUBLIC_URL so the URLs name the address users reach.',
  }
  const options = { query: EmbedQuery, response: { 200: Snippets, ...errors(400) }, detail }
  return new Elysia({ name: 'embed' })
    .get('/v1/embed/:org/:repo', snippets, { ...options, params: PictureParams })
    .get('/v1/embed/:org/*', snippets, { ...options, detail: { ...detail, hide: true } })
}
