import { Elysia, t } from 'elysia'
import type { Config } from '../../config'
import { unauthorized } from '../../http/errors'
import { documents, errors } from '../../http/schemas'
import { safeEqual } from '../../lib/hash'
import type { AddressLimit } from '../../http/rate-limit'
import { METRICS_CONTENT_TYPE, type Metrics } from './registry'

export function metricsModule(deps: { config: Config; metrics: Metrics; limitAddress?: AddressLimit }) {
  const { metricsToken } = deps.config
  return new Elysia({ name: 'metrics' }).get(
    '/metrics',
    async ({ request, server, set }) => {
      await deps.limitAddress?.(request, server, set)
      if (metricsToken) {
        const header = request.headers.get('authorization') ?? ''
        if (!safeEqual(header, `Bearer ${metricsToken}`)) throw unauthorized()
      }
      set.headers['content-type'] = METRICS_CONTENT_TYPE
      return deps.metrics.text()
    },
    {
      response: { 200: t.String({ description: 'Prometheus text exposition' }), ...errors(401, 403, 429) },
      detail: { tags: ['Operations'], summary: 'Prometheus metrics (Bearer METRICS_TOKEN when set)', security: [{ metricsToken: [] }, {}], ...documents({ media: { 200: 'text/plain' } }) },
    },
  )
}
