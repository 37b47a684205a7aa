import { Counter, Histogram, Registry } from 'prom-client'

/**
 * The server's Prometheus metrics, in a registry of its own (one per app, so tests can build many).
 * Hot-path label sets are resolved once and cached, so recording costs a map lookup and an add.
 */
export function createMetrics() {
  const registry = new Registry()
  const requests = new Counter({ name: 'nolapse_http_requests_total', help: 'HTTP requests by method, route template and status', labelNames: ['method', 'route', 'status'], registers: [registry] })
  const latency = new Histogram({
    name: 'nolapse_http_request_duration_seconds',
    help: 'HTTP request latency by method and route template',
    labelNames: ['method', 'route'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  })
  const ingested = new Counter({ name: 'nolapse_executions_ingested_total', help: 'Executions recorded', registers: [registry] })
  const validations = new Counter({ name: 'nolapse_token_validations_total', help: 'API token validations by result', labelNames: ['result'], registers: [registry] })
  const cache = new Counter({ name: 'nolapse_token_cache_total', help: 'Token cache lookups by result (hit or miss)', labelNames: ['result'], registers: [registry] })
  const webhooks = new Counter({ name: 'nolapse_webhook_events_total', help: 'Billing webhook deliveries by provider and result', labelNames: ['provider', 'result'], registers: [registry] })
  const rejections = new Counter({ name: 'nolapse_rate_limit_rejections_total', help: 'Requests refused by a rate limit, by kind', labelNames: ['kind'], registers: [registry] })

  const requestChildren = new Map<string, { inc(): void }>()
  const latencyChildren = new Map<string, { observe(v: number): void }>()

  return {
    registry,
    request(route: string, method: string, status: number, seconds: number): void {
      const key = `${method} ${route} ${status}`
      let counter = requestChildren.get(key)
      if (!counter) requestChildren.set(key, (counter = requests.labels(method, route, String(status))))
      counter.inc()
      const lkey = `${method} ${route}`
      let histogram = latencyChildren.get(lkey)
      if (!histogram) latencyChildren.set(lkey, (histogram = latency.labels(method, route)))
      histogram.observe(seconds)
    },
    ingested: () => ingested.inc(),
    validation: (valid: boolean) => validations.labels(valid ? 'valid' : 'invalid').inc(),
    cache: (hit: boolean) => cache.labels(hit ? 'hit' : 'miss').inc(),
    webhook: (provider: string, result: string) => webhooks.labels(provider, result).inc(),
    rejection: (kind: string) => rejections.labels(kind).inc(),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
