import { describe, expect, test } from 'bun:test'
import { makeTestApp } from './helpers/app'
import { orgWithToken, submit } from './helpers/fixtures'
import { BILLING_ENV, postStripe, stripeEvent } from './helpers/webhooks'

const DAY = 86_400_000

describe('GET /metrics', () => {
  test('Prometheus text with requests by route and status, latency, ingestions, validations, cache, webhooks, rejections', async () => {
    const t = makeTestApp({ ...BILLING_ENV, RATE_LIMIT_ENTERPRISE_PER_MINUTE: '2' })
    const { token } = await orgWithToken(t, 'acme', { plan: 'enterprise' })
    await submit(t, token, {})
    await t.request('POST', '/v1/auth/validate', { body: { token } })
    await t.request('POST', '/v1/auth/validate', { body: { token: 'nlp_' + '0'.repeat(40) } })
    await t.request('GET', '/v1/repos', { token })
    expect((await t.request('GET', '/v1/repos', { token })).status).toBe(429)
    await postStripe(t, stripeEvent('invoice.paid', {}))
    await postStripe(t, stripeEvent('invoice.paid', {}), { secret: 'whsec_bad' })
    await new Promise((resolve) => setImmediate(resolve))
    const res = await t.request('GET', '/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('text/plain; version=0.0.4')
    const text = res.text
    expect(text).toContain('nolapse_http_requests_total{method="POST",route="/v1/executions",status="201"} 1')
    expect(text).toContain('nolapse_http_request_duration_seconds_bucket{le="0.0005",method="GET",route="/v1/repos"}')
    expect(text).toContain('nolapse_executions_ingested_total 1')
    expect(text).toMatch(/nolapse_token_validations_total\{result="valid"\} \d+/)
    expect(text).toContain('nolapse_token_validations_total{result="invalid"} 1')
    expect(text).toMatch(/nolapse_token_cache_total\{result="hit"\} \d+/)
    expect(text).toMatch(/nolapse_token_cache_total\{result="miss"\} \d+/)
    expect(text).toContain('nolapse_webhook_events_total{provider="stripe",result="ignored"} 1')
    expect(text).toContain('nolapse_webhook_events_total{provider="stripe",result="invalid_signature"} 1')
    expect(text).toContain('nolapse_rate_limit_rejections_total{kind="credential"} 1')
    // every sample line is valid exposition: name{labels} value
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? -?(\d+(\.\d+)?(e[+-]?\d+)?|NaN|\+Inf|-Inf)$/)
    for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE'))) expect(line).toMatch(/^# TYPE \S+ (counter|gauge|histogram|summary)$/)
  })

  test('with METRICS_TOKEN set, /metrics requires it', async () => {
    const t = makeTestApp({ METRICS_TOKEN: 'metrics-secret' })
    expect((await t.request('GET', '/metrics')).status).toBe(401)
    expect((await t.request('GET', '/metrics', { token: 'wrong' })).status).toBe(401)
    expect((await t.request('GET', '/metrics', { token: 'metrics-secret' })).status).toBe(200)
  })
})
