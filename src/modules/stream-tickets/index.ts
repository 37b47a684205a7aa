import { Elysia } from 'elysia'
import { credentialKey, type AuthPlugin } from '../../http/auth'
import { forbidden } from '../../http/errors'
import { errors } from '../../http/schemas'
import { SECURITY } from '../../http/security'
import { StreamTicket, StreamTicketBody } from './model'
import type { StreamTickets } from './service'

/** POST /v1/stream-tickets: a short-lived, read-only credential for one repository's event stream, for browsers. */
export function streamTicketsModule(deps: { auth: AuthPlugin; tickets: StreamTickets }) {
  return new Elysia({ name: 'stream-tickets' })
    .use(deps.auth)
    .post(
      '/v1/stream-tickets',
      ({ principal, body, set }) => {
        if (body.org !== principal.org.slug) throw forbidden()
        set.status = 201
        return deps.tickets.issue({ orgId: principal.org.id, repo: body.repo, parent: credentialKey(principal) })
      },
      {
        auth: 'read',
        body: StreamTicketBody,
        response: { 201: StreamTicket, ...errors(400, 401, 403, 408, 415, 429) },
        detail: {
          tags: ['Executions'],
          summary: 'A ticket for a browser to follow the stream (EventSource cannot send Authorization)',
          description:
            'Read-only, bound to this organisation and repository, valid for `STREAM_TICKET_TTL_SECONDS` (5 minutes) and only while the credential that asked for it is. Use it as `GET /v1/executions/stream?org=…&repo=…&ticket=…`; EventSource may reconnect with it until it expires.',
          security: SECURITY.either,
        },
      },
    )
}
