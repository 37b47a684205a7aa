import { Elysia, t } from 'elysia'
import { openapi } from '@elysiajs/openapi'
import { dirname, join } from 'node:path'
import { notFound } from '../../http/errors'
import type { DocumentedResponses } from '../../http/schemas'
import type { AddressLimit } from '../../http/rate-limit'

const ASSET_DIR = dirname(Bun.resolveSync('swagger-ui-dist/package.json', import.meta.dir))
/** The only Swagger UI files the page loads; served from the npm package so an air-gapped server works. */
const ASSETS: Record<string, string> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
}

type Requirement = Record<string, string[]>[]
export const SECURITY: Record<'session' | 'token' | 'either', Requirement> = {
  session: [{ sessionToken: [] }],
  token: [{ apiToken: [] }],
  either: [{ sessionToken: [] }, { apiToken: [] }],
}

/** OpenAPI document at /swagger/json and Swagger UI at /swagger, its scripts served locally. */
/*
 * @elysiajs/openapi writes a body-less response (t.Void, 204) as `content: {type, description}`, which is
 * not valid OpenAPI; drop that bogus content so the document validates.
 */
function withoutVoidContent(document: any) {
  for (const operations of Object.values<any>(document?.paths ?? {}))
    for (const operation of Object.values<any>(operations))
      for (const response of Object.values<any>(operation?.responses ?? {}))
        if (response?.content && typeof response.content.type === 'string') delete response.content
  return document
}

export function docsModule(docs: DocumentedResponses, limitAddress?: AddressLimit) {
  return new Elysia({ name: 'docs' })
    .onTransform(({ request, server, set }) => limitAddress?.(request, server, set))
    .onAfterHandle(({ path, response }) => (path === '/swagger/json' ? withoutVoidContent(response) : undefined))
    .use(
      openapi({
        path: '/swagger',
        specPath: '/swagger/json',
        provider: 'swagger-ui',
        references: () => docs.references as any,
        exclude: { paths: ['/swagger/assets/{file}', '/swagger/assets/:file'] },
        swagger: {
          cdn: '/swagger/assets/swagger-ui-bundle.js',
          theme: '/swagger/assets/swagger-ui.css',
          autoDarkMode: false,
        },
        documentation: {
          info: {
            title: 'nolapse Platform API',
            version: '1.0.0',
            description: 'API tokens, executions, badges, analytics and billing for nolapse, the coverage regression guard.',
          },
          tags: [
            { name: 'Health', description: 'Liveness' },
            { name: 'Sessions', description: 'Dashboard sessions (service token)' },
            { name: 'Tokens', description: 'API tokens for CI jobs (session)' },
            { name: 'Auth', description: 'Token validation' },
            { name: 'Executions', description: 'Coverage runs' },
            { name: 'Repositories', description: 'Repositories and usage' },
            { name: 'Badges', description: 'Public SVG badges and trend graphs' },
            { name: 'Analytics', description: 'Paid analytics' },
            { name: 'Audit', description: 'Audit log (enterprise)' },
            { name: 'Billing', description: 'Stripe and Razorpay webhooks' },
            { name: 'Operations', description: 'Metrics' },
          ],
          components: {
            securitySchemes: {
              sessionToken: { type: 'http', scheme: 'bearer', description: 'Dashboard session token: nls_ + 64 hex' },
              apiToken: {
                type: 'http',
                scheme: 'bearer',
                description:
                  'API token: `nlp_` + 40 lower-case hex, all random (160 bits). Looked up by the SHA-256 of the whole secret; the token id (a UUID) is public and not part of the secret. Scopes: `execute`, `read`, `badge` (badge and trend `?token=` only).',
              },
              serviceToken: { type: 'http', scheme: 'bearer', description: 'SERVICE_TOKEN of the web front end' },
            },
          },
        },
      }),
    )
    .get(
      '/swagger/assets/:file',
      ({ params, set }) => {
        const type = ASSETS[params.file]
        if (!type) throw notFound()
        set.headers['content-type'] = type
        set.headers['cache-control'] = 'public, max-age=86400'
        return Bun.file(join(ASSET_DIR, params.file))
      },
      { params: t.Object({ file: t.String() }), detail: { hide: true } },
    )
}
