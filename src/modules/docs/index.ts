import { Elysia, t } from 'elysia'
import { openapi } from '@elysiajs/openapi'
import { dirname, join } from 'node:path'
import { notFound } from '../../http/errors'
import { documents, documentedOnly, errors, type Json, type RouteFactsSource } from '../../http/schemas'
import type { AddressLimit } from '../../http/rate-limit'
import { errorResponse, exactDocument } from './exact'
import packageJson from '../../../package.json'

const PACKAGE_VERSION = (packageJson as { version: string }).version
const ASSET_DIR = dirname(Bun.resolveSync('swagger-ui-dist/package.json', import.meta.dir))
/** The only Swagger UI files the page loads; served from the npm package so an air-gapped server works. */
const ASSETS = new Map([
  ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
  ['swagger-ui.css', 'text/css; charset=utf-8'],
])


const text = { type: 'string' }
/** The documentation's own routes, which the generator leaves out. */
const DOC_PATHS = {
  '/swagger': {
    get: {
      tags: ['Docs'],
      summary: 'Swagger UI (also at /swagger/)',
      operationId: 'getSwagger',
      security: [],
      responses: { 200: { description: 'The Swagger UI page', content: { 'text/html': { schema: text } } }, 429: errorResponse(429), 503: errorResponse(503) },
    },
  },
  '/swagger/json': {
    get: {
      tags: ['Docs'],
      summary: 'This OpenAPI document',
      operationId: 'getSwaggerJson',
      security: [],
      responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } }, 429: errorResponse(429), 503: errorResponse(503) },
    },
  },
}

/** OpenAPI document at /swagger/json (made exact by exact.ts) and Swagger UI at /swagger and /swagger/, its scripts served locally. */
export function docsModule(docs: RouteFactsSource, limitAddress?: AddressLimit) {
  let generated: unknown
  let finished: Json | undefined
  return new Elysia({ name: 'docs' })
    .onTransform(({ request, server, set }) => limitAddress?.(request, server, set))
    .onAfterHandle(({ path, response }) => {
      if (path !== '/swagger/json') return
      // The generator hands back one cached document once the routes are known: finish it once too.
      if (response === generated && finished) return finished
      const doc = exactDocument(response as Json, docs.routes())
      doc.paths = { ...doc.paths, ...DOC_PATHS }
      doc.tags = [...(doc.tags ?? []), { name: 'Docs', description: 'This document and Swagger UI' }]
      generated = response
      finished = doc
      return doc
    })
    .use(
      openapi({
        path: '/swagger',
        specPath: '/swagger/json',
        provider: 'swagger-ui',
        // /favicon.ico is a route of ours like any other: documented, though its path looks like a file's.
        exclude: { staticFile: false },
        swagger: {
          // Absolute: the plugin's default is relative (`swagger/json`), which from /swagger/ is /swagger/swagger/json.
          ...({ url: '/swagger/json' } as object),
          cdn: '/swagger/assets/swagger-ui-bundle.js',
          theme: '/swagger/assets/swagger-ui.css',
          autoDarkMode: false,
        },
        documentation: {
          // Relative: the document describes whichever host serves it.
          servers: [{ url: '/', description: 'This server' }],
          info: {
            title: 'nolapse Platform API',
            // One version: the server's (package.json), which names the document it serves.
            version: PACKAGE_VERSION,
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
              metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN, when the server sets one' },
            },
          },
        },
      }),
    )
    // Browsers ask every page's host for /favicon.ico (Swagger UI's page among them): answered, not a 404
    // in the console and the access log.
    .get(
      '/favicon.ico',
      ({ set }) => {
        set.status = 204
        set.headers['cache-control'] = 'public, max-age=86400'
        return ''
      },
      { detail: { tags: ['Docs'], summary: 'No icon: 204, cached for a day, so browsers stop asking', responses: documentedOnly({ 204: t.Void({ description: 'No icon' }), ...errors() }) } },
    )
    .get(
      '/swagger/assets/:file',
      ({ params, set }) => {
        // A Map, not an object: `constructor` or `__proto__` must not name an asset.
        const type = ASSETS.get(params.file)
        if (!type) throw notFound()
        set.headers['content-type'] = type
        set.headers['cache-control'] = 'public, max-age=86400'
        return Bun.file(join(ASSET_DIR, params.file))
      },
      {
        params: t.Object({ file: t.String({ maxLength: 64 }) }),
        detail: {
          tags: ['Docs'],
          summary: "Swagger UI's script and stylesheet (served from the swagger-ui-dist package)",
          // Documented, not encoded: the handler answers with the file itself.
          responses: documentedOnly({ 200: t.String({ description: 'The file' }), ...errors(400, 404) }),
          ...documents({ media: { 200: ['text/javascript', 'text/css'] } }),
        },
      },
    )
}
