import { Elysia, t } from 'elysia'
import type { DocumentedResponses } from '../../http/schemas'

const OK = '{"status":"ok"}'

export function healthModule(docs: DocumentedResponses) {
  docs.add('GET', '/health', { 200: t.Object({ status: t.Literal('ok') }, { description: 'The server is up' }) })
  return new Elysia({ name: 'health' }).get(
    '/health',
    // The hottest route of all (load balancers, probes): a ready string, nothing to encode.
    ({ set }) => {
      set.headers['content-type'] = 'application/json'
      return OK
    },
    { detail: { tags: ['Health'], summary: 'Liveness check' } },
  )
}
