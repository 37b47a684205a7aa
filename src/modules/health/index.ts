import { Elysia, t } from 'elysia'
import type { Db } from '../../db/client'
import { documentedOnly, errors } from '../../http/schemas'

const OK = '{"status":"ok"}'
const DOWN = '{"error":"database unavailable"}'

export function healthModule(db: Pick<Db, 'healthy'>) {
  const answer = (set: { status?: number | string; headers: Record<string, unknown> }, healthy: boolean) => {
    set.headers['content-type'] = 'application/json'
    if (healthy) return OK
    set.status = 503
    return DOWN
  }
  return new Elysia({ name: 'health' }).get(
    '/health',
    // The hottest route of all (load balancers, probes): a ready string, nothing to encode. SQLite is
    // always there; a PostgreSQL that answered within the last second is not asked again.
    ({ set }) => {
      const healthy = db.healthy()
      return healthy instanceof Promise ? healthy.then((h) => answer(set, h)) : answer(set, healthy)
    },
    {
      detail: {
        tags: ['Health'],
        summary: 'Liveness and database check',
        responses: documentedOnly({ 200: t.Object({ status: t.Literal('ok') }, { description: 'The server is up and its database answers' }), ...errors(503) }),
      },
    },
  )
}
