import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { makeTestApp, SERVICE_TOKEN } from '../helpers/app'
import { createToken, orgWithToken, submit } from '../helpers/fixtures'
import { BILLING_ENV } from '../helpers/webhooks'

/*
 * Hostile input, generated: for every operation in the OpenAPI document, fast-check throws wrong types,
 * missing and extra fields, huge and empty strings, unicode and control characters, out-of-range and
 * NaN/Infinity numbers, deep nesting, wrong content types and broken query strings and path parameters.
 * No answer may be a 5xx; every refusal is exactly {"error": string} with no stack trace and no secret;
 * a refused request changes nothing (audit rows of refusals excepted: refusals are audited by design).
 */
const RUNS = Number(Bun.env.FUZZ_RUNS ?? 150)

async function world() {
  const t = makeTestApp({ ...BILLING_ENV, RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000', RATE_LIMIT_ADDRESS_PER_MINUTE: '10000000', METRICS_TOKEN: 'metrics-secret-123' })
  const who = await orgWithToken(t, 'acme', { plan: 'enterprise', scopes: ['execute', 'read'] })
  const reader = await createToken(t, who.session, { name: 'reader', scopes: ['read'] })
  const victim = await createToken(t, who.session, { name: 'victim' })
  await submit(t, who.token, { repo: 'api-service', coverage: 80 })
  const doc = (await t.request('GET', '/swagger/json')).json
  const secrets = [SERVICE_TOKEN, who.session, who.token, reader.secret, BILLING_ENV.STRIPE_WEBHOOK_SECRET, BILLING_ENV.RAZORPAY_WEBHOOK_SECRET, 'metrics-secret-123']
  return { t, who, reader, victim, doc, secrets }
}

/** Everything but the audit trail and last_used_at (touched at most once a minute by a valid token). */
/** Every row of the tables a request could change, in a stable order (each table's first column is its key). */
async function digest(t: ReturnType<typeof makeTestApp>): Promise<string> {
  const tables = ['organisations', 'sessions', 'api_tokens', 'repositories', 'executions', 'webhook_events', 'idempotency_keys']
  const parts: string[] = []
  for (const table of tables)
    parts.push(JSON.stringify((await t.db.all<any>(`SELECT * FROM ${table} ORDER BY 1, 2`)).map((row: any) => ({ ...row, last_used_at: undefined }))))
  return parts.join('\n')
}

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.constantFrom('', ' ', '\u0000', '\n\r', '../../etc/passwd', '%00', '%', '%zz', '<script>alert(1)</script>', "' OR 1=1 --", 'NaN', 'Infinity', '-Infinity', '1e309', '-0', '__proto__', 'constructor', '\u202e', '😀'.repeat(50)),
  fc.integer().map(String),
  fc.double().map(String),
  fc.constant('x'.repeat(70_000)),
)

const hostileJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(fc.constantFrom('name', 'scopes', 'agent_type', 'token', 'repo', 'branch', 'coverage', 'baseline', 'delta', 'outcome', 'warn_threshold', 'fail_threshold', 'strict_mode', 'commit', 'timestamp', 'user_id', 'org_slug', 'org_name', 'default_branch', 'private', 'org_id', '__proto__'), fc.oneof(fc.jsonValue({ maxDepth: 2 }), hostileString, fc.constantFrom(NaN, Infinity, -Infinity, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2))),
)

const rawBody = fc.oneof(
  hostileJson.map((v) => JSON.stringify(v) ?? 'null'),
  hostileString,
  fc.constantFrom('{', '{"a":', '[' .repeat(5000) + ']'.repeat(5000), '{"a":' .repeat(3000) + '1' + '}'.repeat(3000), '\uFEFF{}', 'null', 'true', '"str"', '{"token":"' + 'a'.repeat(2 * 1024 * 1024) + '"}'),
)

const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '', 'application/json-patch+json', 'application/xml', 'APPLICATION/JSON')

/** A valid body per operation: the fuzz mutates these, so refusals are probed right at the edge of validity. */
function validBodies(token: string): Record<string, Record<string, unknown>> {
  return {
    'POST /v1/sessions/create': { user_id: 'u-2', org_slug: 'fuzz-org' },
    'POST /v1/tokens': { name: 'fuzz', scopes: ['read'], agent_type: 'cursor' },
    'PATCH /v1/tokens/{id}': { agent_type: 'claude_code' },
    'POST /v1/auth/validate': { token },
    'POST /v1/executions': { repo: 'api-service', branch: 'main', coverage: 81.5, baseline: 80, warn_threshold: 0.5, fail_threshold: 1, strict_mode: false, commit: 'a'.repeat(40), timestamp: '2026-03-18T09:00:00Z', outcome: 'pass' },
    'PATCH /v1/repos/{repo}': { default_branch: 'main', private: false },
    'POST /webhooks/stripe': { id: 'evt_1', type: 'invoice.paid', created: 1, data: { object: {} } },
    'POST /webhooks/razorpay': { event: 'payment.failed', payload: {}, created_at: 1 },
  }
}

const hostileValue = fc.oneof(
  hostileString,
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, false, 0, -1, -0.0001, 100.0001, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, [], {}, [[[[[]]]]], ['execute', 'admin'], ['execute', 'execute', 'read']),
)

/** Drop a field, replace one with something hostile, or add an unknown one. */
function mutated(base: Record<string, unknown>) {
  const keys = Object.keys(base)
  return fc
    .array(
      fc.tuple(fc.constantFrom('drop', 'set', 'set', 'add'), fc.constantFrom(...(keys.length ? keys : ['x'])), fc.string({ maxLength: 12 }), hostileValue),
      { minLength: 1, maxLength: 3 },
    )
    .map((edits) => {
      const body: Record<string, unknown> = { ...base }
      for (const [kind, key, extra, value] of edits) {
        if (kind === 'drop') delete body[key]
        else if (kind === 'set') body[key] = value
        else body[extra] = value
      }
      return JSON.stringify(body)
    })
}

describe('hostile input on every route of the OpenAPI document', () => {
  test('no 5xx, refusals are exactly {"error": string}, no stack trace, no secret, nothing changed', async () => {
    const { t, who, reader, victim, doc, secrets } = await world()
    const operations: { method: string; path: string }[] = []
    for (const [path, methods] of Object.entries<any>(doc.paths)) for (const method of Object.keys(methods)) operations.push({ method: method.toUpperCase(), path })
    expect(operations.length).toBeGreaterThanOrEqual(23)

    const bodies = validBodies(who.token)
    const pathParam = fc.oneof(hostileString, fc.constantFrom('acme', 'api-service', victim.id, '00000000-0000-4000-8000-000000000000'))
    const credential = fc.oneof({ arbitrary: fc.constantFrom(who.session, who.token, SERVICE_TOKEN), weight: 3 }, { arbitrary: fc.constantFrom<string | undefined>(undefined, reader.secret, 'garbage', `Bearer ${who.token}x`, 'nlp_' + '0'.repeat(40)), weight: 1 })
    let requests = 0
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(
          fc.array(pathParam, { minLength: 3, maxLength: 3 }),
          fc.dictionary(fc.oneof(fc.constantFrom('org', 'repo', 'limit', 'cursor', 'branch', 'label', 'style', 'n', 'days', 'token'), hostileString), hostileString, { maxKeys: 4 }),
          fc.option(fc.oneof({ arbitrary: rawBody, weight: 1 }, { arbitrary: mutated(bodies[`${operation.method} ${operation.path}`] ?? {}), weight: 3 })),
          fc.oneof({ arbitrary: fc.constant('application/json'), weight: 3 }, { arbitrary: contentType, weight: 1 }),
          credential,
          fc.boolean(),
          async (params, query, body, type, token, brokenQuery) => {
            let i = 0
            const path = operation.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++]!))
            const search = brokenQuery ? `?${Object.keys(query).join('&%')}=%E0%A4%A` : `?${new URLSearchParams(query)}`
            const headers: Record<string, string> = {}
            if (type) headers['content-type'] = type
            if (token) headers.authorization = token.startsWith('Bearer') ? token : `Bearer ${token}`
            const sendsBody = operation.method !== 'GET' && operation.method !== 'DELETE' && body !== null
            const before = (await digest(t))
            const res = await t.app.handle(new Request(`http://localhost${path}${search}`, { method: operation.method, headers, body: sendsBody ? body : undefined }))
            requests++
            const text = await res.text()
            const where = `${operation.method} ${path}${search.slice(0, 80)} → ${res.status} ${text.slice(0, 200)}`
            if (res.status >= 500) throw new Error(`5xx: ${where}`)
            for (const secret of secrets) if (text.includes(secret)) throw new Error(`secret echoed: ${where}`)
            if (/\bat .*\.(ts|js|mjs):\d+/.test(text)) throw new Error(`stack trace: ${where}`)
            if (res.status >= 300 && res.status !== 304) {
              const parsed = JSON.parse(text)
              if (Object.keys(parsed).join() !== 'error' || typeof parsed.error !== 'string') throw new Error(`bad error body: ${where}`)
              if ((await digest(t)) !== before) throw new Error(`a refused request changed the database: ${where}`)
            }
          },
        ),
        { numRuns: RUNS, seed: Number(Bun.env.FUZZ_SEED ?? 20261124) },
      )
    }
    expect(requests).toBe(operations.length * RUNS)
  }, 180_000)
})
