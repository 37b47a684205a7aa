import { Elysia } from 'elysia'
import type { Config } from './config'
import type { Db } from './db/client'
import { type Clock, systemClock } from './lib/clock'
import { createLogger, type Logger } from './lib/logger'
import { authPlugin, createAuthenticator, sessionCredential, tokenCredential, type CredentialLimiter } from './http/auth'
import { createBodyReader, type BodyLimits } from './http/body'
import { addressBucket, clientAddress } from './http/client-address'
import { corePlugin } from './http/core'
import { createRateLimiter, type AddressLimit } from './http/rate-limit'
import { limitStore } from './http/rate-limit-store'
import type { RedisClient } from 'bun'
import { createRouteFacts, type Json } from './http/schemas'
import { analyticsModule } from './modules/analytics'
import { createAnalytics } from './modules/analytics/service'
import { rollups } from './modules/analytics/rollups'
import { auditModule } from './modules/audit'
import { auditNow } from './modules/audit/service'
import { authModule } from './modules/auth'
import { badgesModule } from './modules/badges'
import { createRenderer } from './modules/badges/render'
import { createBadgeData } from './modules/badges/service'
import { billingModule } from './modules/billing'
import { createWebhookVerifiers, type PackageLoader } from './modules/billing/verifiers'
import type { BillingEvent } from './modules/billing/service'
import { docsModule } from './modules/docs'
import { executionsModule } from './modules/executions'
import { createExecutionBus } from './modules/executions/bus'
import { createExecutionStore } from './modules/executions/service'
import { createRepoChanges } from './modules/executions/repo-changes'
import { createStreamRegistry } from './modules/executions/stream-registry'
import type { StreamTiming } from './modules/executions/stream'
import { streamTicketsModule } from './modules/stream-tickets'
import { createStreamTickets } from './modules/stream-tickets/service'
import { healthModule } from './modules/health'
import { metricsModule } from './modules/metrics'
import { createMetrics } from './modules/metrics/registry'
import { createOrgDirectory } from './modules/orgs/directory'
import { ratePerMinute, streamCaps } from './modules/plans'
import { reposModule } from './modules/repos'
import { createRepoService } from './modules/repos/service'
import { usageModule } from './modules/usage'
import { compareModule } from './modules/compare'
import { embedModule } from './modules/embed'
import { oidcModule } from './modules/oidc'
import { createBindingService } from './modules/oidc/service'
import { createOidcVerifier } from './modules/oidc/verifier'
import { createCompareService } from './modules/compare/service'
import { createUsageService } from './modules/usage/service'
import { sessionsModule } from './modules/sessions'
import { createSessionService } from './modules/sessions/service'
import { tokensModule } from './modules/tokens'
import { createTokenVerifier } from './modules/tokens/verifier'
import { clustered } from './modules/cluster'
import { timed } from './lib/timed'
import { withoutPassword } from './lib/urls'

export interface AppDeps {
  config: Config
  db: Db
  clock?: Clock
  logger?: Logger
  /** Test seam: tighter body limits than the configuration allows (a stall measured in milliseconds). */
  bodyLimits?: BodyLimits
  /** Test seam: how the stripe and razorpay packages are loaded (to make a load fail). */
  billingPackages?: PackageLoader
  /** Test seam: event-stream heartbeat and poll intervals in milliseconds. */
  streamTiming?: StreamTiming
  /** The Redis client of the `redis` rate-limit store (made from REDIS_URL when absent). */
  redis?: RedisClient
  /** Test seam: how often instances beat and when one that hears no beat of its own counts itself deaf (modules/cluster.ts). */
  clusterTiming?: { beatMs: number; deafMs: number }
  /** Test seam: runs inside a billing transaction just before it commits (to inject failures). */
  billingBeforeCommit?: (event: BillingEvent) => void
}

/** Builds the whole server around injected config, database, clock and logger; starts nothing. */
export function createApp(deps: AppDeps) {
  const { config, db } = deps
  const clock = deps.clock ?? systemClock
  const logger = deps.logger ?? createLogger(config.logLevel)
  const metrics = createMetrics()
  // Stream caps per credential and organisation count every instance's streams on PostgreSQL (leases in the
  // database); one SQLite process counts its own.
  const leases = db.dialect === 'postgres' ? { db, clock, logger, leaseMs: deps.streamTiming?.leaseMs } : undefined
  const repoChanges = createRepoChanges(clock)
  const { verifier, orgs, streams, bus, changes, cluster } = clustered(
    {
      verifier: createTokenVerifier(db, clock, metrics, logger),
      orgs: createOrgDirectory(db, clock),
      streams: createStreamRegistry(leases),
      bus: createExecutionBus(),
      changes: repoChanges,
    },
    db,
    logger,
    deps.clusterTiming,
  )
  const sessions = createSessionService(db, clock, logger)
  const bindings = createBindingService(db, clock, logger)
  const oidc = createOidcVerifier({ issuers: config.oidcIssuers, audience: config.oidcAudience, bindings, clock })
  const { shared, redis } = limitStore({ config, db, clock, logger, redis: deps.redis })
  const rateLimiter = createRateLimiter(clock, metrics.rejection, shared)
  // Per-address limits count IPv6 clients by /64 (see http/client-address.ts).
  const limitDenials = (address: string) =>
    rateLimiter.enforce('address', `d:${addressBucket(address)}`, config.rateLimitAddressPerMinute, {})
  const tickets = createStreamTickets(db, clock, config.streamTicketTtlSeconds)
  const authenticate = createAuthenticator({
    config,
    limitDenials,
    credentials: {
      token: (raw) => verifier.verify(raw),
      session: (raw) => sessions.find(raw),
      ticket: (raw) => tickets.resolve(raw),
      org: (id) => orgs.byId(id),
      tokenBucket: (id, fresh) => verifier.bucketOf(id, fresh),
      sessionValid: (id) => sessions.isValid(id),
      oidc: async (raw) => {
        const result = await oidc(raw)
        if ('refused' in result) return { refused: result.refused, code: result.code }
        return { bindingId: result.binding.id, orgId: result.binding.org_id, repo: result.binding.repo, sha: result.claims.sha, ref: result.claims.ref }
      },
      audit: (event) => auditNow(db, logger, clock.now(), event),
    },
  })
  // A rotated token in its grace period shares its successor's bucket (principal.bucket).
  const limiter: CredentialLimiter = (principal, set) =>
    rateLimiter.enforce(
      'credential',
      principal.kind === 'token' ? `t:${principal.bucket}` : `s:${principal.sessionId}`,
      ratePerMinute(principal.org.plan, config),
      set.headers,
    )
  const limitAddress: AddressLimit = (request, server, set) =>
    rateLimiter.enforce('address', `a:${addressBucket(clientAddress(request, server, config.trustProxy))}`, config.rateLimitAddressPerMinute, set.headers)
  const body = createBodyReader(deps.bodyLimits ?? { inFlightBytes: config.bodiesInFlightBytes, stallMs: config.bodyStallMs, totalMs: config.bodyTotalMs }, config.trustProxy)
  const verifiers = createWebhookVerifiers(deps.billingPackages)
  const store = createExecutionStore({ db, clock, bus, changes: repoChanges, onInsert: rollups.addMany, onIngest: metrics.ingested })
  const repos = createRepoService(db, logger, clock, config, changes.changed)
  const renderer = createRenderer()
  const badgeData = createBadgeData(db, verifier, repoChanges)
  const analytics = createAnalytics(db)
  const usage = createUsageService(db, clock, config)
  const compare = createCompareService(db)
  const auth = authPlugin(authenticate, limiter, body)
  const guarded = { auth }
  const docs = createRouteFacts()

  // Elysia takes the path from a fixed offset of the URL (11: it assumes a hostname of at least "a.bc"), so
  // with `Host: x` it read `/xx/health` as `/health` and `/v1/metrics` as `/metrics`: a proxy that forwards
  // only `/v1/*` no longer kept /metrics private, and logged paths could be forged. From offset 7 (just past
  // `http://`), the first `/` is the one after the host, whatever its length. Bun serves plain HTTP here (TLS
  // ends at the proxy), so every URL starts `http://`.
  const app = new Elysia({ handler: { standardHostname: false } })
    .use(corePlugin({ config, logger, onResponse: metrics.request }))
    .use(billingModule({ config, db, logger, clock, orgs, body, verifiers, limitDenials, limitAddress, beforeCommit: deps.billingBeforeCommit, observe: metrics.webhook }))
    .use(docsModule(docs, limitAddress))
    .use(healthModule(db))
    .use(metricsModule({ config, metrics, limitAddress }))
    .use(sessionsModule({ config, db, clock, logger, body, limitDenials, limitAddress, ended: (id) => streams.end(sessionCredential(id)) }))
    .use(authModule({ verifier, orgs, limitAddress, body }))
    .use(
      tokensModule({
        db,
        clock,
        logger,
        verifier,
        ...guarded,
        graceSeconds: config.tokenRotationGraceSeconds,
        trustProxy: config.trustProxy,
        ended: (id) => streams.end(tokenCredential(id)),
      }),
    )
    .use(executionsModule({ store, bus, ...guarded, streams, streamCaps: (principal) => streamCaps(principal.org.plan, config), streamTiming: deps.streamTiming, trustProxy: config.trustProxy, authenticate }))
    .use(streamTicketsModule({ ...guarded, tickets }))
    .use(reposModule({ repos, ...guarded, trustProxy: config.trustProxy }))
    .use(usageModule({ ...guarded, usage }))
    .use(compareModule({ ...guarded, compare }))
    .use(oidcModule({ ...guarded, bindings, trustProxy: config.trustProxy }))
    .use(analyticsModule({ analytics, clock, ...guarded }))
    .use(auditModule({ db, ...guarded }))
    .use(embedModule({ config }))
    .use(badgesModule({ data: badgeData, renderer, refuse: authenticate.refuse }))
  // What an operator watches for floods and leaks, read when /metrics is scraped.
  metrics.gauge('nolapse_request_body_bytes_in_flight', 'Bytes of request bodies received and being read now', () => body.inFlight())
  metrics.gauge('nolapse_event_streams_open', 'Event streams open on this instance', () => streams.open())
  metrics.gauge('nolapse_event_stream_subscriptions', "Subscriptions to this instance's run bus (one per open stream)", () => bus.size())
  metrics.gauge('nolapse_picture_renders', 'Badges and trend graphs drawn since start (not served from the cache)', () => renderer.stats.renders)
  metrics.gauge('nolapse_picture_cache_hits', 'Badges and trend graphs served from the cache since start', () => renderer.stats.hits)
  docs.routes = () =>
    app.routes.map((route) => {
      const hooks = route.hooks as { body?: Json; detail?: Json }
      return { method: route.method, path: route.path, body: hooks.body, detail: hooks.detail, auth: (hooks.detail?.security?.length ?? 0) > 0 }
    })
  /** Resolves once the work the server started on its own (bookkeeping writes) has landed: what tests wait for instead of sleeping. */
  const settled = () => verifier.settled()
  const lifecycle = {
    /**
     * Resolves once this instance can serve: Redis answers (when the shared rate limits live there: they are
     * needed from the first request) and it listens to the other instances (so it misses nothing they change).
     * Rejects with a reason fit for one line on stderr, never showing the Redis password.
     */
    async ready() {
      if (redis) {
        const reached = await timed(redis.connect().then(() => redis.send('PING', [])), 3000).then(() => null, (error: Error) => error.message || 'no answer')
        if (reached !== null) throw new Error(`cannot reach Redis at ${withoutPassword(config.redisUrl!)}: ${reached}`)
      }
      await cluster.ready
    },
    /** Tells this instance an organisation changed in the database behind its back (an operator's SQL, the CLI): its cached plan is dropped. */
    orgChanged: (orgId: string) => orgs.invalidate(orgId),
    /** Whether this instance hears the others now (false while its listening connection is down). */
    hearing: () => cluster.hearing(),
    /** Draws one of each picture, so the first README view does not pay satori's start-up. */
    warm: () => renderer.warm(),
    /** Stops what the app holds open besides the database: lease renewal, cluster beats and listening, Redis. */
    async stop() {
      streams.stop()
      await rateLimiter.stop()
      await cluster.stop()
      redis?.close()
    },
  }
  return Object.assign(app, { settled, ...lifecycle })
}

export type App = ReturnType<typeof createApp>
