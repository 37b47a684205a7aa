import { Elysia } from 'elysia'
import type { Config } from './config'
import type { Db } from './db/client'
import { type Clock, systemClock } from './lib/clock'
import { createLogger, type Logger } from './lib/logger'
import { createAuthenticator } from './http/auth'
import { corePlugin, jsonBodyPlugin } from './http/core'
import { authModule } from './modules/auth'
import { docsModule } from './modules/docs'
import { healthModule } from './modules/health'
import { createOrgDirectory } from './modules/orgs/directory'
import { sessionsModule } from './modules/sessions'
import { createSessionStore } from './modules/sessions/service'
import { tokensModule } from './modules/tokens'
import { createExecutionBus } from './modules/executions/bus'
import { executionsModule } from './modules/executions'
import { createExecutionStore } from './modules/executions/service'
import { reposModule } from './modules/repos'
import { badgesModule } from './modules/badges'
import { billingModule } from './modules/billing'
import type { BillingEvent } from './modules/billing/service'
import { createRenderer } from './modules/badges/render'
import { createBadgeData } from './modules/badges/service'
import { createRepoService } from './modules/repos/service'
import { createTokenVerifier } from './modules/tokens/verifier'

export interface AppDeps {
  config: Config
  db: Db
  clock?: Clock
  logger?: Logger
  /** Test seam: runs inside a billing transaction just before it commits (to inject failures). */
  billingBeforeCommit?: (event: BillingEvent) => void
}

/** Builds the whole server around injected config, database, clock and logger; starts nothing. */
export function createApp(deps: AppDeps) {
  const { config, db } = deps
  const clock = deps.clock ?? systemClock
  const logger = deps.logger ?? createLogger(config.logLevel)
  const verifier = createTokenVerifier(db, clock)
  const orgs = createOrgDirectory(db, clock)
  const sessions = createSessionStore(db, clock)
  const authenticate = createAuthenticator({ config, db, clock, logger, sessions, verifier, orgs })
  const base = { config, db, clock, logger }
  const bus = createExecutionBus()
  const store = createExecutionStore(db, clock, bus)
  const repos = createRepoService(db, logger, clock, config)
  const renderer = createRenderer()
  const badgeData = createBadgeData(db, verifier)

  const app = new Elysia()
    .use(corePlugin({ config, logger, clock }))
    // Webhooks first: they verify raw bytes, so the JSON body parser must not be attached to them.
    .use(billingModule({ config, db, logger, clock, orgs, beforeCommit: deps.billingBeforeCommit }))
    .use(jsonBodyPlugin())
    .use(docsModule())
    .use(healthModule())
    .use(sessionsModule(base))
    .use(authModule({ verifier, orgs }))
    .use(tokensModule({ ...base, verifier, authenticate, graceSeconds: config.tokenRotationGraceSeconds, trustProxy: config.trustProxy }))
    .use(executionsModule({ store, bus, authenticate }))
    .use(reposModule({ repos, authenticate, trustProxy: config.trustProxy }))
    .use(badgesModule({ data: badgeData, renderer }))

  return Object.assign(app, { services: { bus, store, verifier, orgs, renderer } })
}

export type App = ReturnType<typeof createApp>
