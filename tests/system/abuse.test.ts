import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { mkdtempSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, ROOT } from '../helpers/process'
import { addressBucket } from '../../src/http/client-address'
import { makeTestApp, type TestApp } from '../helpers/app'
import { createToken, orgWithToken, signIn, submit, metric } from '../helpers/fixtures'
import { BILLING_ENV } from '../helpers/webhooks'

/*
 * The holes an outside attack found (issue 12): each test here failed on the server before the fix.
 */

const sha256 = (value: string) => new Bun.CryptoHasher('sha256').update(value).digest('hex')
const audits = async (t: TestApp, action = 'auth.denied') =>
  ((await t.db.get<any>('SELECT count(*) AS n FROM audit_events WHERE action = ?', [action])) as { n: number }).n

/** Opens an event stream through app.handle and reads it as a client would. */
async function openStream(t: TestApp, token: string, org = 'acme', repo = 'api-service') {
  const controller = new AbortController()
  const res = await t.app.handle(
    new Request(`http://localhost/v1/executions/stream?org=${org}&repo=${repo}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal }),
  )
  const reader = res.status === 200 ? res.body!.getReader() : null
  let text = ''
  return {
    res,
    /** Reads until `until` appears or the stream ends; `ended` says which. */
    async read(until: string): Promise<{ text: string; ended: boolean }> {
      const decoder = new TextDecoder()
      while (!text.includes(until)) {
        const chunk = await reader!.read()
        if (chunk.done) return { text, ended: true }
        text += decoder.decode(chunk.value)
      }
      return { text, ended: false }
    },
    close: async () => {
      await reader?.cancel()
      controller.abort()
    },
  }
}

/** A request body that sends `head` and then nothing more, as a stalled upload does. */
function stalledBody(head: string) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(head))
    },
  })
}

function post(t: TestApp, path: string, body: BodyInit, headers: Record<string, string> = {}) {
  return t.app.handle(new Request(`http://localhost${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, duplex: 'half' } as RequestInit))
}

describe('API token secrets', () => {
  test('all 40 hex of a new token are random and nothing in its row narrows a guess', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const secrets = new Set<string>()
    for (let i = 0; i < 5; i++) {
      const token = await createToken(t, session, { name: `t${i}` })
      await t.request('DELETE', `/v1/tokens/${token.id}`, { token: session })
      expect(token.secret).toMatch(/^nlp_[0-9a-f]{40}$/)
      // Before: the first 32 hex were the token's UUID, stored in plain, leaving 32 bits to guess.
      expect(token.secret.slice(4, 36)).not.toBe(token.id.replaceAll('-', ''))
      const row = (await t.db.get<any>('SELECT * FROM api_tokens WHERE id = ?', [token.id])) as Record<string, unknown>
      for (const value of Object.values(row)) if (typeof value === 'string' && value.length >= 8) expect(token.secret).not.toContain(value.replaceAll('-', '').slice(0, 8))
      expect(row.secret_hash).toBe(sha256(token.secret))
      secrets.add(token.secret)
    }
    expect(secrets.size).toBe(5)
  })

  test('a token issued in the old format (UUID hex + 8 random hex) keeps working until revoked', async () => {
    const t = makeTestApp()
    const { orgId, session } = await signIn(t, 'acme', { plan: 'team' })
    const id = crypto.randomUUID()
    const old = `nlp_${id.replaceAll('-', '')}0badc0de`
    await t.db.run("INSERT INTO api_tokens (id, org_id, name, secret_hash, scopes, created_at) VALUES (?, ?, 'legacy', ?, '[\"execute\"]', 0)", [id, orgId, sha256(old)])
    const valid = await t.request('POST', '/v1/auth/validate', { body: { token: old } })
    expect([valid.status, valid.json]).toEqual([200, { valid: true, org_id: orgId, scopes: ['execute'] }])
    expect((await submit(t, old, {})).status).toBe(201)
    await t.request('DELETE', `/v1/tokens/${id}`, { token: session })
    expect((await t.request('POST', '/v1/auth/validate', { body: { token: old } })).status).toBe(401)
  })

  test('a secret whose hex spells a real token id is just another unknown secret', async () => {
    const t = makeTestApp()
    const { tokenId } = await orgWithToken(t)
    const guess = `nlp_${tokenId.replaceAll('-', '')}00000000`
    const res = await t.request('POST', '/v1/auth/validate', { body: { token: guess } })
    expect([res.status, res.json]).toEqual([401, { error: 'invalid token' }])
  })
})

describe('badge tokens', () => {
  test('wrong ?token= guesses on private badges and trends count against the address and are audited, then 429', async () => {
    const t = makeTestApp({ RATE_LIMIT_ADDRESS_PER_MINUTE: '6' })
    const { token, session } = await orgWithToken(t)
    await submit(t, token, { coverage: 88 })
    await t.request('PATCH', '/v1/repos/api-service', { token: session, body: { private: true } })
    for (let i = 0; i < 3; i++) {
      const badge = await t.request('GET', `/v1/badge/acme/api-service?token=nlp_${i.toString(16).padStart(40, '0')}`)
      expect(badge.status).toBe(200)
      expect(badge.text).toContain('coverage: unknown')
      const trend = await t.request('GET', `/v1/trend/acme/api-service?token=nlp_${i.toString(16).padStart(40, '1')}`)
      expect(trend.status).toBe(200)
    }
    expect((await audits(t))).toBe(6)
    const limited = await t.request('GET', `/v1/badge/acme/api-service?token=nlp_${'f'.repeat(40)}`)
    expect([limited.status, limited.json]).toEqual([429, { error: 'rate limit exceeded' }])
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await t.request('GET', `/v1/trend/acme/api-service?token=nlp_${'e'.repeat(40)}`)).status).toBe(429)
    expect((await audits(t))).toBe(6)
    // A badge without a token, as a README shows it, is never limited.
    expect((await t.request('GET', '/v1/badge/acme/api-service')).status).toBe(200)
  })

  test('a badge-scoped token opens only badges and trends: no runs, no lists, no repos', async () => {
    const t = makeTestApp()
    const { session, orgId } = await signIn(t, 'acme', { plan: 'team' })
    const badge = await createToken(t, session, { scopes: ['badge'] })
    expect(badge.scopes).toEqual(['badge'])
    expect((await submit(t, badge.secret, {})).status).toBe(403)
    expect((await t.request('GET', '/v1/executions?org=acme&repo=api-service', { token: badge.secret })).status).toBe(403)
    expect((await t.request('GET', '/v1/executions/stream?org=acme&repo=api-service', { token: badge.secret })).status).toBe(403)
    expect((await t.request('GET', '/v1/repos', { token: badge.secret })).status).toBe(403)
    const valid = await t.request('POST', '/v1/auth/validate', { body: { token: badge.secret } })
    expect(valid.json).toEqual({ valid: true, org_id: orgId, scopes: ['badge'] })
    const bad = await t.request('POST', '/v1/tokens', { token: session, body: { name: 'x', scopes: ['admin'] } })
    expect([bad.status, bad.json]).toEqual([400, { error: 'invalid body: scopes must be a list of execute, read, badge' }])
  })
})

describe('event streams', () => {
  test('open streams are capped per credential, per organisation and in all; over a cap is 429 with Retry-After', async () => {
    const t = makeTestApp({ STREAMS_PER_CREDENTIAL_FREE: '2', STREAMS_MAX: '12' })
    const a = await signIn(t, 'acme', { user: 'a' })
    const b = await signIn(t, 'acme', { user: 'b' })
    const c = await signIn(t, 'acme', { user: 'c' })
    const d = await signIn(t, 'acme', { user: 'd' })
    const e = await signIn(t, 'acme', { user: 'e' })
    const open = [await openStream(t, a.session), await openStream(t, a.session)]
    for (const s of open) expect(s.res.status).toBe(200)
    const third = await openStream(t, a.session)
    expect([third.res.status, await third.res.json()]).toEqual([429, { error: 'too many open event streams for this credential (2/2)' }])
    expect(third.res.headers.get('retry-after')).toBe('10')
    for (const who of [b, c, d]) for (let i = 0; i < 2; i++) open.push(await openStream(t, who.session))
    const orgFull = await openStream(t, e.session)
    expect([orgFull.res.status, await orgFull.res.json()]).toEqual([429, { error: 'too many open event streams for this organisation (8/8)' }])
    // Closing one frees its slot.
    await open.pop()!.close()
    expect((await openStream(t, e.session)).res.status).toBe(200)
    const others = [await signIn(t, 'beta'), await signIn(t, 'gamma')]
    const streams = [] as Awaited<ReturnType<typeof openStream>>[]
    for (const who of others) for (let i = 0; i < 2; i++) streams.push(await openStream(t, who.session, who.slug))
    for (const s of streams) expect(s.res.status).toBe(200)
    const serverFull = (await openStream(t, (await signIn(t, 'gamma', { user: 'z' })).session, 'gamma')).res
    expect([serverFull.status, await serverFull.json()]).toEqual([429, { error: 'too many open event streams on this server (12/12)' }])
    for (const s of [...open, ...streams]) await s.close()
    expect((await metric(t, 'nolapse_event_streams_open'))).toBe(1)
  })

  test('revoking a token ends its open stream at once', async () => {
    const t = makeTestApp()
    const { session, token } = await orgWithToken(t)
    const reader = await createToken(t, session, { scopes: ['read'] })
    const stream = await openStream(t, reader.secret)
    await stream.read(': connected')
    await t.request('DELETE', `/v1/tokens/${reader.id}`, { token: session })
    expect((await stream.read('never')).ended).toBe(true)
    await submit(t, token, {})
    expect((await metric(t, 'nolapse_event_stream_subscriptions'))).toBe(0)
    expect((await metric(t, 'nolapse_event_streams_open'))).toBe(0)
  })

  test('logging out ends the streams the session opened', async () => {
    const t = makeTestApp()
    const { session, sessionId } = await signIn(t)
    const stream = await openStream(t, session)
    await stream.read(': connected')
    expect((await t.request('DELETE', `/v1/sessions/${sessionId}`)).status).toBe(204)
    expect((await stream.read('never')).ended).toBe(true)
  })

  test('a stream ends when its credential lapses: rotation past grace and session expiry, checked on the next event', async () => {
    const t = makeTestApp({ TOKEN_ROTATION_GRACE_SECONDS: '60', SESSION_TTL_SECONDS: '120' })
    const { session, token, tokenId } = await orgWithToken(t)
    const reader = await createToken(t, session, { scopes: ['read'] })
    const byToken = await openStream(t, reader.secret)
    const bySession = await openStream(t, session)
    await byToken.read(': connected')
    await bySession.read(': connected')
    const rotated = await t.request('POST', `/v1/tokens/${reader.id}/rotate`, { token: session })
    expect(rotated.status).toBe(200)
    await submit(t, token, { coverage: 81 })
    expect((await byToken.read('"coverage":81')).ended).toBe(false)
    t.clock.advance(60_000)
    await submit(t, token, { coverage: 82 })
    const afterGrace = await byToken.read('"coverage":82')
    expect(afterGrace.ended).toBe(true)
    expect(afterGrace.text).not.toContain('"coverage":82')
    expect((await bySession.read('"coverage":82')).ended).toBe(false)
    t.clock.advance(60_000)
    await submit(t, token, { coverage: 83 })
    expect((await bySession.read('"coverage":83')).ended).toBe(true)
    expect(tokenId).toBeString()
  })

  test('a stream with no traffic still ends within one poll of its credential lapsing', async () => {
    const t = makeTestApp({ SESSION_TTL_SECONDS: '60' }, { streamTiming: { heartbeatMs: 15_000, pollMs: 20 } })
    const { session } = await signIn(t)
    const stream = await openStream(t, session)
    await stream.read(': connected')
    t.clock.advance(60_000)
    expect((await stream.read('never')).ended).toBe(true)
  })
})

describe('request bodies', () => {
  test('a route that needs a credential refuses a missing or wrong one before reading a byte of the body', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    // These bodies never finish: an answer at all proves the body was not waited for.
    const missing = await post(t, '/v1/executions', stalledBody('{"repo":"a'))
    expect([missing.status, await missing.json()]).toEqual([401, { error: 'invalid token' }])
    const wrong = await post(t, '/v1/tokens', stalledBody('{"name":"'), { authorization: `Bearer nls_${'0'.repeat(64)}` })
    expect([wrong.status, await wrong.json()]).toEqual([401, { error: 'unauthorized' }])
    const service = await post(t, '/v1/sessions/create', stalledBody('{"user_id":"'), { authorization: 'Bearer wrong' })
    expect(service.status).toBe(401)
    const scope = await post(t, '/v1/executions', stalledBody('{"repo":"a'), { authorization: `Bearer ${session}` })
    expect([scope.status, await scope.json()]).toEqual([403, { error: 'forbidden' }])
  })

  test('a body that stops sending is cut off with 408 and frees its bytes', async () => {
    const t = makeTestApp({}, { bodyLimits: { inFlightBytes: 4 * 1024 * 1024, stallMs: 50 } })
    const { token } = await orgWithToken(t)
    const res = await post(t, '/v1/executions', stalledBody('{"repo":"api-service",'), { authorization: `Bearer ${token}`, 'content-length': '200' })
    expect([res.status, await res.json()]).toEqual([408, { error: 'request body timed out' }])
    expect((await metric(t, 'nolapse_request_body_bytes_in_flight'))).toBe(0)
    expect((await t.db.get<any>('SELECT count(*) AS n FROM executions'))).toEqual({ n: 0 })
  })

  test('what counts against the budget is what has arrived, never what is declared', async () => {
    const t = makeTestApp({}, { bodyLimits: { inFlightBytes: 2 * 1024 * 1024, stallMs: 60_000 } })
    const { token } = await orgWithToken(t)
    const pending = post(t, '/v1/executions', stalledBody('{'), { authorization: `Bearer ${token}`, 'content-length': String(1024 * 1024) })
    for (let i = 0; i < 400 && (await metric(t, 'nolapse_request_body_bytes_in_flight')) === 0; i++) await Bun.sleep(5)
    expect((await metric(t, 'nolapse_request_body_bytes_in_flight'))).toBe(1)
    void pending
  })

  test('bytes of bodies in flight are bounded across all requests and per address: past either a new body gets 503', async () => {
    const t = makeTestApp({ TRUST_PROXY: 'true' }, { bodyLimits: { inFlightBytes: 1024 * 1024, perAddressBytes: 600 * 1024, stallMs: 60_000 } })
    const { token } = await orgWithToken(t)
    const from = (address: string) => ({ authorization: `Bearer ${token}`, 'x-forwarded-for': address, 'content-length': String(1000 * 1024) })
    // What has arrived, as an operator reads it: the in-flight gauge of /metrics.
    const arrived = async (bytes: number) => {
      for (let i = 0; i < 400 && (await metric(t, 'nolapse_request_body_bytes_in_flight')) < bytes; i++) await Bun.sleep(5)
      expect(await metric(t, 'nolapse_request_body_bytes_in_flight')).toBe(bytes)
    }
    void post(t, '/v1/executions', stalledBody('{' + ' '.repeat(500 * 1024 - 1)), from('203.0.113.1'))
    await arrived(500 * 1024)
    // The same address past its share (600 KiB), while the budget still has room.
    const mine = await post(t, '/v1/executions', stalledBody('{' + ' '.repeat(200 * 1024 - 1)), from('203.0.113.1'))
    expect([mine.status, await mine.json(), mine.headers.get('retry-after')]).toEqual([503, { error: 'server busy: too many request bodies in flight from your address' }, '1'])
    expect(await metric(t, 'nolapse_request_body_bytes_in_flight')).toBe(500 * 1024)
    // Another address past the whole budget (1 MiB).
    void post(t, '/v1/executions', stalledBody('{' + ' '.repeat(400 * 1024 - 1)), from('198.51.100.1'))
    await arrived(900 * 1024)
    const third = await post(t, '/v1/executions', stalledBody('{' + ' '.repeat(200 * 1024 - 1)), from('192.0.2.1'))
    expect([third.status, await third.json()]).toEqual([503, { error: 'server busy: too many request bodies in flight' }])
    expect((await metric(t, 'nolapse_request_body_bytes_in_flight'))).toBe(900 * 1024)
    // A small body still fits, and the refused ones hold nothing.
    expect((await submit(t, token, {}, { 'x-forwarded-for': '192.0.2.1' })).status).toBe(201)
  })

  test('a body that trickles is cut off once it falls below the minimum rate, and one that never ends at the total deadline', async () => {
    const t = makeTestApp({}, { bodyLimits: { inFlightBytes: 4 * 1024 * 1024, stallMs: 200, totalMs: 1500, minBytesPerSecond: 1024 } })
    const { token } = await orgWithToken(t)
    /** Sends `bytes` every `everyMs`, for ever (until cancelled). */
    const trickle = (bytes: number, everyMs: number) => {
      let timer: ReturnType<typeof setInterval>
      return new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{'))
          timer = setInterval(() => controller.enqueue(new TextEncoder().encode(' '.repeat(bytes))), everyMs)
        },
        cancel: () => clearInterval(timer),
      })
    }
    const auth = { authorization: `Bearer ${token}`, 'content-length': String(1024 * 1024) }
    // A byte every 50 ms never stalls (each resets the stall clock), but 20 B/s is far below 1 KiB/s.
    let started = performance.now()
    const slow = await post(t, '/v1/executions', trickle(1, 50), auth)
    expect([slow.status, await slow.json()]).toEqual([408, { error: 'request body timed out' }])
    expect(performance.now() - started).toBeLessThan(1400)
    // 4 KiB/s is fast enough, but a body that never ends is cut off at the total deadline.
    started = performance.now()
    const endless = await post(t, '/v1/executions', trickle(200, 50), auth)
    expect([endless.status, await endless.json()]).toEqual([408, { error: 'request body timed out' }])
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400)
    expect((await metric(t, 'nolapse_request_body_bytes_in_flight'))).toBe(0)
    expect((await t.db.get<any>('SELECT count(*) AS n FROM executions'))).toEqual({ n: 0 })
  })
})

describe('limits a client cannot multiply', () => {
  test('IPv6 clients are limited by /64 and IPv4-mapped addresses as the IPv4 address', async () => {
    const t = makeTestApp({ RATE_LIMIT_ADDRESS_PER_MINUTE: '5', TRUST_PROXY: 'true' })
    const from = (ip: string) => t.request('POST', '/v1/auth/validate', { body: { token: 'nlp_x' }, headers: { 'x-forwarded-for': ip } })
    for (let i = 1; i <= 5; i++) expect((await from(`2001:db8:1:2:${i.toString(16)}::${i}`)).status).toBe(401)
    expect((await from('2001:db8:1:2:ffff:ffff:ffff:ffff')).status).toBe(429)
    expect((await from('2001:db8:1:3::1')).status).toBe(401)
    for (let i = 0; i < 5; i++) expect((await from(i % 2 ? '127.0.0.1' : '::ffff:127.0.0.1')).status).toBe(401)
    expect((await from('::ffff:7f00:1')).status).toBe(429)
    expect(addressBucket('2001:DB8:1:2:a::1')).toBe('2001:db8:1:2::/64')
    expect(addressBucket('203.0.113.9')).toBe('203.0.113.9')
  })

  test('a chain of rotations leaves at most two valid tokens, and they share one rate-limit bucket', async () => {
    const t = makeTestApp({ TOKEN_ROTATION_GRACE_SECONDS: '3600' })
    const { session } = await signIn(t)
    let current = await createToken(t, session)
    const secrets = [current.secret]
    for (let i = 0; i < 40; i++) {
      const rotated = await t.request('POST', `/v1/tokens/${current.id}/rotate`, { token: session })
      expect(rotated.status).toBe(200)
      current = { ...current, id: rotated.json.id, secret: rotated.json.secret }
      secrets.push(current.secret)
    }
    const valid = [] as number[]
    for (const [i, secret] of secrets.entries()) if ((await t.request('POST', '/v1/auth/validate', { body: { token: secret } })).status === 200) valid.push(i)
    expect(valid).toEqual([39, 40])
    const statuses = (await t.request('GET', '/v1/tokens', { token: session })).json.tokens.map((tk: { status: string }) => tk.status)
    expect(statuses.filter((s: string) => s !== 'revoked').sort()).toEqual(['active', 'rotating'])
    expect(t.logger.lines.some((l) => /^\[audit\] token\.rotate old_id=\S+ new_id=\S+ grace_ended=\[\S+\]$/.test(l))).toBe(true)
    // Free plan: 60 a minute for the pair, not 60 each.
    const [older, newer] = [secrets[39]!, secrets[40]!]
    for (let i = 0; i < 60; i++) expect((await t.request('GET', '/v1/repos', { token: i % 2 ? older : newer })).status).toBe(200)
    expect((await t.request('GET', '/v1/repos', { token: older })).status).toBe(429)
    expect((await t.request('GET', '/v1/repos', { token: newer })).status).toBe(429)
  })

  test('a rotation that cuts a grace period short ends the streams of the token it cut', async () => {
    const t = makeTestApp({ TOKEN_ROTATION_GRACE_SECONDS: '3600' })
    const { session } = await signIn(t, 'acme', { plan: 'team' })
    const first = await createToken(t, session, { scopes: ['read'] })
    const second = (await t.request('POST', `/v1/tokens/${first.id}/rotate`, { token: session })).json
    const stream = await openStream(t, first.secret)
    await stream.read(': connected')
    expect((await t.request('POST', `/v1/tokens/${second.id}/rotate`, { token: session })).status).toBe(200)
    expect((await stream.read('never')).ended).toBe(true)
  })
})

describe('unauthenticated routes', () => {
  test('DELETE /v1/sessions/{id}, /metrics and /swagger take the per-address limit', async () => {
    const t = makeTestApp({ RATE_LIMIT_ADDRESS_PER_MINUTE: '4', TRUST_PROXY: 'true' })
    const headers = { 'x-forwarded-for': '203.0.113.50' }
    for (let i = 0; i < 4; i++) expect((await t.request('DELETE', `/v1/sessions/ses_${i}`, { headers })).status).toBe(204)
    const limited = await t.request('DELETE', '/v1/sessions/ses_x', { headers })
    expect([limited.status, limited.json]).toEqual([429, { error: 'rate limit exceeded' }])
    expect(limited.headers.get('ratelimit-limit')).toBe('4')
    expect((await t.request('GET', '/metrics', { headers })).status).toBe(429)
    expect((await t.request('GET', '/swagger/json', { headers })).status).toBe(429)
    expect((await t.request('GET', '/metrics', { headers: { 'x-forwarded-for': '203.0.113.51' } })).status).toBe(200)
    expect((await t.request('GET', '/health', { headers })).status).toBe(200)
  })
})

describe('guessing secrets (property)', () => {
  test('10,000 random wrong secrets are all refused and rate-limited on every route that takes a token', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t)
    await submit(t, token, {})
    await t.request('PATCH', '/v1/repos/api-service', { token: session, body: { private: true } })
    const routes = [
      (s: string) => t.request('POST', '/v1/auth/validate', { body: { token: s } }),
      (s: string) => t.request('GET', '/v1/executions?org=acme&repo=api-service', { token: s }),
      (s: string) => submit(t, s, {}),
      (s: string) => t.request('GET', '/v1/executions/stream?org=acme&repo=api-service', { token: s }),
      (s: string) => t.request('GET', '/v1/repos', { token: s }),
      (s: string) => t.request('GET', `/v1/badge/acme/api-service?token=${s}`),
      (s: string) => t.request('GET', `/v1/trend/acme/api-service?token=${s}`),
    ]
    const hex = fc.stringMatching(/^[0-9a-f]{40}$/)
    // Wholly random secrets, and the real secret with one character changed (the nearest guesses there are).
    const wrong = fc.oneof(
      hex.map((h) => `nlp_${h}`),
      fc.tuple(fc.integer({ min: 4, max: 43 }), fc.constantFrom(...'0123456789abcdef')).map(([i, c]) => token.slice(0, i) + c + token.slice(i + 1)),
    )
    let limited = 0
    let runs = 0
    await fc.assert(
      fc.asyncProperty(wrong, fc.integer({ min: 0, max: routes.length - 1 }), async (secret, route) => {
        if (secret === token) return
        runs++
        const res = await routes[route]!(secret)
        if (res.status === 429) return void limited++
        if (route >= 5) expect([res.status, res.text.includes(': unknown')]).toEqual([200, true])
        else expect(res.status).toBe(401)
      }),
      { numRuns: 10_000, seed: 12 },
    )
    // Refusals (and validate calls) each spend the address's allowance of 600 a minute; the rest are 429.
    expect(limited).toBeGreaterThanOrEqual(runs - 1200)
    expect((await audits(t))).toBeLessThanOrEqual(600)
    expect((await t.request('POST', '/v1/auth/validate', { body: { token } })).status).toBe(429)
  }, 60_000)
})

describe('stalled uploads against a real listening server', () => {
  test('64 connections trickling declared 1 MiB bodies from one address do not stop another client\'s ingest, and are cut off', async () => {
    const t = makeTestApp({ TRUST_PROXY: 'true', REQUEST_BODY_STALL_SECONDS: '2', ...BILLING_ENV })
    const { token } = await orgWithToken(t)
    t.app.listen({ port: 0, hostname: '127.0.0.1' })
    const port = t.app.server!.port!
    const answers: string[] = []
    let closed = 0
    const sockets = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        Bun.connect({
          hostname: '127.0.0.1',
          port,
          socket: {
            data(_socket, chunk) {
              answers[i] = (answers[i] ?? '') + new TextDecoder().decode(chunk)
            },
            close: () => void closed++,
          },
        }),
      ),
    )
    sockets.forEach((socket, i) => {
      const target = i % 2 ? '/v1/auth/validate' : '/webhooks/stripe'
      socket.write(
        `POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\nStripe-Signature: t=1,v1=00\r\nX-Forwarded-For: 203.0.113.66\r\n\r\n{`,
      )
    })
    const drip = setInterval(() => sockets.forEach((socket) => socket.write(' ')), 500)
    try {
      await Bun.sleep(300)
      const statuses: number[] = []
      const until = performance.now() + 1500
      while (performance.now() < until) {
        const res = await fetch(`http://127.0.0.1:${port}/v1/executions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.7' },
          body: JSON.stringify({ repo: 'api-service', branch: 'main', coverage: 80 }),
        })
        statuses.push(res.status)
        await res.text()
        await Bun.sleep(25) // well inside the team plan's 600 a minute
      }
      expect(statuses.length).toBeGreaterThan(5)
      expect(new Set(statuses)).toEqual(new Set([201]))
      // The 64 stalled bodies hold a few bytes each, nothing like the 64 MiB they declared.
      expect(await metric(t, 'nolapse_request_body_bytes_in_flight')).toBeLessThanOrEqual(64 * 10)
      // At a few bytes a second they fall below the minimum rate once the stall time has passed: 408, and the connection closes.
      for (let i = 0; i < 60 && answers.filter((a) => a?.includes('408')).length < 64; i++) await Bun.sleep(100)
      expect(answers.filter((a) => a?.startsWith('HTTP/1.1 408')).length).toBe(64)
      expect(answers.every((a) => a.toLowerCase().includes('connection: close'))).toBe(true)
      for (let i = 0; i < 30 && closed < 64; i++) await Bun.sleep(100)
      expect(closed).toBe(64)
    } finally {
      clearInterval(drip)
      for (const socket of sockets) socket.end()
      await t.app.stop(true)
    }
  }, 20_000)
})

describe('descriptor floods against a real server under prlimit --nofile=1024', () => {
  test('1,100 stream requests from one address right after start: the address cap refuses and closes, /health and another organisation are served, the process lives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nolapse-flood-'))
    const env = { ...process.env, DATABASE_URL: join(dir, 'f.db') }
    const cli = (...args: string[]) => Bun.spawnSync(['bun', 'src/cli/index.ts', ...args], { cwd: ROOT, env }).stdout.toString().trim()
    cli('org', 'create', 'acme', '--plan', 'enterprise')
    cli('org', 'create', 'other', '--plan', 'team')
    const token = cli('token', 'create', '--org', 'acme', '--name', 'ci')
    const other = cli('token', 'create', '--org', 'other', '--name', 'ci')
    const port = await freePort()
    const server = Bun.spawn(['prlimit', '--nofile=1024', 'bun', 'src/index.ts'], {
      cwd: ROOT,
      env: { ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error', RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000' },
      stdout: 'ignore',
      stderr: 'pipe',
    })
    const sockets: Socket[] = []
    try {
      for (let i = 0; i < 500 && !(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)); i++) await Bun.sleep(10)
      const statuses: Record<string, number> = {}
      let closed = 0
      for (let i = 0; i < 1100; i++) {
        const socket = connect(port, '127.0.0.1')
        socket.on('error', () => {})
        socket.once('data', (data) => {
          const status = data.toString('latin1').split(' ', 2)[1] ?? '?'
          statuses[status] = (statuses[status] ?? 0) + 1
        })
        socket.once('close', () => void closed++)
        socket.write(`GET /v1/executions/stream?org=acme&repo=r HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`)
        sockets.push(socket)
      }
      for (let i = 0; i < 100 && (statuses['200'] ?? 0) + (statuses['429'] ?? 0) < 1100; i++) await Bun.sleep(50)
      expect(statuses).toEqual({ '200': 100, '429': 1000 })
      for (let i = 0; i < 60 && closed < 1000; i++) await Bun.sleep(50)
      expect(closed).toBe(1000)
      let healthy = 0
      for (let i = 0; i < 20; i++) healthy += await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) }).then((r) => (r.ok ? 1 : 0), () => 0)
      expect(healthy).toBe(20)
      const ingest = await fetch(`http://127.0.0.1:${port}/v1/executions`, {
        method: 'POST',
        signal: AbortSignal.timeout(3000),
        headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' },
        body: JSON.stringify({ repo: 'svc', branch: 'main', coverage: 80 }),
      })
      expect(ingest.status).toBe(201)
      // Past the first second (the checkpoint worker starts then): still alive.
      await Bun.sleep(1200)
      expect(server.exitCode).toBeNull()
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200)
    } finally {
      for (const socket of sockets) socket.destroy()
      server.kill()
      await server.exited
    }
    expect(await new Response(server.stderr).text()).not.toContain('ran out of file descriptors')
  }, 30_000)
})
