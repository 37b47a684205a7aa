import type { MaybePromise } from '../../lib/maybe'
import { Elysia, t } from 'elysia'
import type { Config } from '../../config'
import type { Db } from '../../db/client'
import type { Clock } from '../../lib/clock'
import { safeEqual } from '../../lib/hash'
import type { Logger } from '../../lib/logger'
import type { BodyReader } from '../../http/body'
import type { AddressLimit } from '../../http/rate-limit'
import { bearer } from '../../http/auth'
import { clientAddress, type Peer } from '../../http/client-address'
import { internalError, unauthorized } from '../../http/errors'
import { errors } from '../../http/schemas'
import { auditNow } from '../audit/service'
import { CreatedSession, CreateSessionBody, SessionParams } from './model'
import { createSessionService } from './service'

export interface SessionsDeps {
  config: Config
  db: Db
  clock: Clock
  logger: Logger
  body: BodyReader
  limitDenials?: (address: string) => MaybePromise<void>
  /** The per-address limit of unauthenticated routes (DELETE takes no credential). */
  limitAddress?: AddressLimit
  /** Told when a session ends, so the streams it opened end too. */
  ended?: (sessionId: string) => void
}

export function sessionsModule(deps: SessionsDeps) {
  const { config } = deps
  const sessions = createSessionService(deps.db, deps.clock, deps.logger)
  const checkServiceToken = async (request: Request, server: Peer) => {
    if (!config.serviceToken) throw internalError('service token not configured')
    const given = bearer(request) ?? ''
    if (safeEqual(given, config.serviceToken)) return
    const remote = clientAddress(request, server, config.trustProxy)
    await deps.limitDenials?.(remote)
    await auditNow(deps.db, deps.logger, deps.clock.now(), {
      action: 'session.create.denied',
      fields: { reason: given ? 'invalid_service_token' : 'missing_service_token', remote },
      actor: 'anonymous',
      remote,
    })
    throw unauthorized()
  }
  return new Elysia({ name: 'sessions' })
    .post(
      '/v1/sessions/create',
      ({ request, server, body, set }) => {
        set.status = 201
        return sessions.create({
          userId: body.user_id,
          orgSlug: body.org_slug,
          orgName: body.org_name,
          ttlSeconds: config.sessionTtlSeconds,
          remote: clientAddress(request, server, config.trustProxy),
        })
      },
      {
        // Checked before the body is read: an unauthenticated caller holds no memory and learns nothing from validation errors.
        async parse({ request, server }) {
          await checkServiceToken(request, server)
          return deps.body.json(request, server)
        },
        body: CreateSessionBody,
        response: {
          201: CreatedSession,
          ...errors(400, 401, 403, 408, 415, 429),
        },
        detail: { tags: ['Sessions'], summary: 'Create a dashboard session (web front end only)', security: [{ serviceToken: [] }] },
      },
    )
    .delete(
      '/v1/sessions/:id',
      async ({ params, request, server, set }) => {
        await sessions.delete(params.id, clientAddress(request, server, config.trustProxy))
        deps.ended?.(params.id)
        set.status = 204
      },
      {
        transform({ request, server, set }) {
          return deps.limitAddress?.(request, server, set)
        },
        params: SessionParams,
        response: { 204: t.Void({ description: 'Deleted (also when already gone)' }), ...errors(400, 404, 408, 429) },
        detail: { tags: ['Sessions'], summary: 'Delete a session (log out)' },
      },
    )
}
