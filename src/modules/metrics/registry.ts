import type { Metric, Registry } from 'prom-client'

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

interface Collector {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  aggregator: 'sum'
  get: () => Promise<{ name: string; help: string; type: string; aggregator: string; values: { value: number; labels: Record<string, string | number>; metricName?: string }[] }>
  reset: () => void
}

/** A labelled counter kept as plain numbers; prom-client formats it at scrape time. */
function labelledCounter(name: string, help: string, labelNames: string[]) {
  const counts = new Map<string, { labels: Record<string, string>; value: number }>()
  const collector: Collector = {
    name,
    help,
    type: 'counter',
    aggregator: 'sum',
    get: async () => ({ name, help, type: 'counter', aggregator: 'sum', values: [...counts.values()].map(({ labels, value }) => ({ value, labels })) }),
    reset: () => counts.clear(),
  }
  function inc(values: string[], by = 1): void {
    const key = values.join('\0')
    const entry = counts.get(key)
    if (entry) entry.value += by
    else counts.set(key, { labels: Object.fromEntries(labelNames.map((label, i) => [label, values[i]!])), value: by })
  }
  return { collector, inc }
}

function plainMetric(name: string, help: string, type: 'counter' | 'gauge', read: () => number): Collector {
  return { name, help, type, aggregator: 'sum', get: async () => ({ name, help, type, aggregator: 'sum', values: [{ value: read(), labels: {} }] }), reset: () => {} }
}

/** Prometheus' text exposition format, version 0.0.4 (what prom-client's registry answers with). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/*
 * The server's Prometheus metrics, one set per app (tests build many). Everything is counted as plain
 * numbers; prom-client, which costs ~50 ms to import, is loaded on the first scrape to format them, so
 * start-up does not pay for it.
 */
export function createMetrics() {
  const http = requestCollectors()
  let ingested = 0
  // Validations and cache lookups happen on most requests: four plain numbers.
  const tally = { valid: 0, invalid: 0, hit: 0, miss: 0 }
  const byResult = (name: string, help: string, read: () => Record<string, number>): Collector => ({
    name,
    help,
    type: 'counter',
    aggregator: 'sum',
    get: async () => ({ name, help, type: 'counter', aggregator: 'sum', values: Object.entries(read()).filter(([, value]) => value > 0).map(([result, value]) => ({ value, labels: { result } })) }),
    reset: () => {},
  })
  const webhooks = labelledCounter('nolapse_webhook_events_total', 'Billing webhook deliveries by provider and result', ['provider', 'result'])
  const rejections = labelledCounter('nolapse_rate_limit_rejections_total', 'Requests refused by a rate limit, by kind', ['kind'])
  const collectors: Collector[] = [
    http.requests as Collector,
    http.latency as Collector,
    plainMetric('nolapse_executions_ingested_total', 'Executions recorded', 'counter', () => ingested),
    byResult('nolapse_token_validations_total', 'API token validations by result', () => ({ valid: tally.valid, invalid: tally.invalid })),
    byResult('nolapse_token_cache_total', 'Token cache lookups by result (hit or miss)', () => ({ hit: tally.hit, miss: tally.miss })),
    webhooks.collector,
    rejections.collector,
  ]
  let registry: Promise<Registry> | undefined
  const build = async () => {
    const { Registry } = await import('prom-client')
    const made = new Registry()
    for (const collector of collectors) made.registerMetric(collector as unknown as Metric)
    return made
  }

  return {
    /** The exposition text (prom-client loaded on the first call). */
    async text(): Promise<string> {
      registry ??= build()
      return (await registry).metrics()
    },
    request: http.record,
    ingested: () => {
      ingested++
    },
    validation: (valid: boolean) => {
      if (valid) tally.valid++
      else tally.invalid++
    },
    cache: (hit: boolean) => {
      if (hit) tally.hit++
      else tally.miss++
    },
    webhook: (provider: string, result: string) => webhooks.inc([provider, result]),
    /** A gauge read from `read` when scraped (state the process already keeps: nothing is counted per request). Before the first scrape. */
    gauge(name: string, help: string, read: () => number): void {
      collectors.push(plainMetric(name, help, 'gauge', read))
    },
    rejection: (kind: string) => rejections.inc([kind]),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
