/**
 * One server of `bench/pieces.ts`: a minimal app with the pieces named by PIECES (comma-separated) and
 * nothing else, so each piece's cost per request can be read off against the one without it.
 *   bun          bare Bun.serve (the baseline)
 *   elysia       a bare Elysia route
 *   openapi      + the OpenAPI plugin and Swagger UI mounted (the docs module)
 *   core         + request id, nosniff, CORS, Host check and the one error mapping (http/core.ts), log off
 *   log          + the access-log line (buffered, flushed every 25 ms)
 *   metrics      + the request counter and latency histogram
 *   address      + the client address and a per-address rate-limit decision (memory store)
 *   app          the whole server (createApp) on DATABASE_URL: every route as it is served
 */
import { Elysia } from 'elysia'
import { loadConfig } from '../src/config'
import { corePlugin } from '../src/http/core'
import { createLogger } from '../src/lib/logger'
import { createMetrics } from '../src/modules/metrics/registry'
import { createRateLimiter } from '../src/http/rate-limit'
import { addressBucket, clientAddress } from '../src/http/client-address'
import { systemClock } from '../src/lib/clock'
import { docsModule } from '../src/modules/docs'
import { createRouteFacts } from '../src/http/schemas'
import { connectDatabase } from '../src/db/client'
import { createApp } from '../src/app'

const pieces = new Set((Bun.env.PIECES ?? 'bun').split(','))
const port = Number(Bun.env.PORT ?? 0)
const OK = '{"status":"ok"}'

if (pieces.has('bun')) {
  Bun.serve({ port, hostname: '127.0.0.1', fetch: () => new Response(OK, { headers: { 'content-type': 'application/json' } }) })
} else if (pieces.has('app')) {
  const config = loadConfig({ ...Bun.env, LOG_LEVEL: 'info', RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000', RATE_LIMIT_ADDRESS_PER_MINUTE: '10000000' })
  const db = await connectDatabase(config.databaseUrl, {})
  const app = createApp({ config, db })
  await app.ready()
  app.listen({ port, hostname: '127.0.0.1', reusePort: false })
} else {
  const config = loadConfig({ DATABASE_URL: ':memory:', ALLOWED_ORIGINS: 'https://app.example' })
  const logger = createLogger(pieces.has('log') ? 'info' : 'warn')
  const metrics = createMetrics()
  const limiter = createRateLimiter(systemClock)
  let app = new Elysia({ handler: { standardHostname: false } })
  if (pieces.has('core')) app = app.use(corePlugin({ config, logger, onResponse: pieces.has('metrics') ? metrics.request : undefined })) as unknown as typeof app
  if (pieces.has('openapi')) app = app.use(docsModule(createRouteFacts())) as unknown as typeof app
  if (pieces.has('address')) {
    app.get('/x', ({ request, server, set }) => {
      limiter.enforce('address', `a:${addressBucket(clientAddress(request, server, false))}`, 10_000_000, set.headers)
      set.headers['content-type'] = 'application/json'
      return OK
    })
  } else {
    app.get('/x', ({ set }) => {
      set.headers['content-type'] = 'application/json'
      return OK
    })
  }
  app.listen({ port, hostname: '127.0.0.1', reusePort: false })
}
