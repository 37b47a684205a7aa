import { Counter, Gauge, Registry, type Metric } from 'prom-client'

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

interface RouteSeries {
  method: string
  route: string
  statuses: Map<number, number>
  buckets: number[]
  sum: number
  count: number
}

/*
 * Requests and their latency are counted on every request, so they are kept as plain numbers here
 * (one map lookup and a few additions) rather than through prom-client's labelled children, which hash
 * their labels on every call. prom-client still formats them: these objects are registered with its
 * registry as collectors that answer `get()` in its MetricObject shape.
 */
function requestCollectors() {
  const series = new Map<string, RouteSeries>()
  const requests = {
    name: 'nolapse_http_requests_total',
    help: 'HTTP requests by method, route template and status',
    type: 'counter',
    aggregator: 'sum',
    get: async () => ({
      name: requests.name,
      help: requests.help,
      type: 'counter',
      aggregator: 'sum',
      values: [...series.values()].flatMap((s) =>
        [...s.statuses].map(([status, value]) => ({ value, labels: { method: s.method, route: s.route, status: String(status) } })),
      ),
    }),
    reset: () => series.clear(),
  }
  const latency = {
    name: 'nolapse_http_request_duration_seconds',
    help: 'HTTP request latency by method and route template',
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({
      name: latency.name,
      help: latency.help,
      type: 'histogram',
      aggregator: 'sum',
      values: [...series.values()].flatMap((s) => {
        const labels = { method: s.method, route: s.route }
        let cumulative = 0
        const buckets = LATENCY_BUCKETS.map((le, i) => {
          cumulative += s.buckets[i]!
          return { value: cumulative, labels: { le, ...labels }, metricName: `${latency.name}_bucket` }
        })
        return [
          ...buckets,
          { value: s.count, labels: { le: '+Inf', ...labels }, metricName: `${latency.name}_bucket` },
          { value: s.sum, labels, metricName: `${latency.name}_sum` },
          { value: s.count, labels, metricName: `${latency.name}_count` },
        ]
      }),
    }),
    reset: () => series.clear(),
  }
  function record(route: string, method: string, status: number, seconds: number): void {
    const key = `${method} ${route}`
    let s = series.get(key)
    if (!s) series.set(key, (s = { method, route, statuses: new Map(), buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 }))
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1)
    let i = 0
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++
    if (i < LATENCY_BUCKETS.length) s.buckets[i]!++
    s.sum += seconds
    s.count++
  }
  return { requests, latency, record }
}

/** The server's Prometheus metrics, in a registry of its own (one per app, so tests can build many). */
export function createMetrics() {
  const registry = new Registry()
  const http = requestCollectors()
  // Collectors of our own (series per route template, made at scrape time): shaped as prom-client reads a metric.
  registry.registerMetric(http.requests as unknown as Metric)
  registry.registerMetric(http.latency as unknown as Metric)
  const ingested = new Counter({ name: 'nolapse_executions_ingested_total', help: 'Executions recorded', registers: [registry] })
  const validations = new Counter({ name: 'nolapse_token_validations_total', help: 'API token validations by result', labelNames: ['result'], registers: [registry] })
  const cache = new Counter({ name: 'nolapse_token_cache_total', help: 'Token cache lookups by result (hit or miss)', labelNames: ['result'], registers: [registry] })
  const webhooks = new Counter({ name: 'nolapse_webhook_events_total', help: 'Billing webhook deliveries by provider and result', labelNames: ['provider', 'result'], registers: [registry] })
  const rejections = new Counter({ name: 'nolapse_rate_limit_rejections_total', help: 'Requests refused by a rate limit, by kind', labelNames: ['kind'], registers: [registry] })
  // Validations and cache lookups happen on most requests: counted here, handed to prom-client when scraped.
  const tally = { valid: 0, invalid: 0, hit: 0, miss: 0 }
  const drain = () => {
    if (tally.valid) validations.inc({ result: 'valid' }, tally.valid)
    if (tally.invalid) validations.inc({ result: 'invalid' }, tally.invalid)
    if (tally.hit) cache.inc({ result: 'hit' }, tally.hit)
    if (tally.miss) cache.inc({ result: 'miss' }, tally.miss)
    tally.valid = tally.invalid = tally.hit = tally.miss = 0
  }

  return {
    registry,
    /** The exposition text; folds the hot-path tallies into their counters first. */
    async text(): Promise<string> {
      drain()
      return registry.metrics()
    },
    request: http.record,
    ingested: () => ingested.inc(),
    validation: (valid: boolean) => {
      if (valid) tally.valid++
      else tally.invalid++
    },
    cache: (hit: boolean) => {
      if (hit) tally.hit++
      else tally.miss++
    },
    webhook: (provider: string, result: string) => webhooks.labels(provider, result).inc(),
    /** A gauge read from `read` when scraped (state the process already keeps: nothing is counted per request). */
    gauge(name: string, help: string, read: () => number): void {
      new Gauge({ name, help, registers: [registry], collect() { this.set(read()) } })
    },
    rejection: (kind: string) => rejections.labels(kind).inc(),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
