import { describe, expect, test } from 'bun:test'
import { makeTestApp } from './helpers/app'
import { createToken, signIn } from './helpers/fixtures'

describe('POST /v1/auth/validate', () => {
  test('a valid token answers 200 with org and scopes', async () => {
    const t = makeTestApp()
    const { session, orgId } = await signIn(t)
    const token = await createToken(t, session, { scopes: ['read'] })
    const res = await t.request('POST', '/v1/auth/validate', { body: { token: token.secret } })
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ valid: true, org_id: orgId, scopes: ['read'] })
  })

  test('right shape, wrong secret; truncated; padded; upper-case; unknown: 401 invalid token', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const { secret } = await createToken(t, session)
    const wrongSecret = secret.slice(0, 36) + (secret.slice(36) === 'aaaaaaaa' ? 'bbbbbbbb' : 'aaaaaaaa')
    for (const value of [wrongSecret, secret.slice(0, -1), secret + '0', secret.toUpperCase(), 'nlp_' + '0'.repeat(40), 'hello', '', session]) {
      const res = await t.request('POST', '/v1/auth/validate', { body: { token: value } })
      expect(res.status).toBe(401)
      expect(res.json).toEqual({ error: 'invalid token' })
    }
  })

  test("another token's id with your secret is refused", async () => {
    const t = makeTestApp()
    const a = await signIn(t, 'org-a')
    const b = await signIn(t, 'org-b')
    const ta = await createToken(t, a.session)
    const tb = await createToken(t, b.session)
    const spliced = `nlp_${tb.secret.slice(4, 36)}${ta.secret.slice(36)}`
    expect((await t.request('POST', '/v1/auth/validate', { body: { token: spliced } })).status).toBe(401)
  })

  test('body missing, not JSON, or token not a string: 400 malformed request', async () => {
    const t = makeTestApp()
    const cases = [
      { rawBody: undefined },
      { rawBody: '{not json', headers: { 'content-type': 'application/json' } },
      { body: {} },
      { body: { token: 42 } },
      { body: { token: null } },
      { body: [] },
      { body: 'nlp_x' },
    ]
    for (const c of cases) {
      const res = await t.request('POST', '/v1/auth/validate', c as any)
      expect(res.status).toBe(400)
      expect(res.json).toEqual({ error: 'malformed request' })
    }
  })

  test('last_used_at is kept without a write per request (to the minute)', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const token = await createToken(t, session)
    const writes: number[] = []
    const lastUsed = async () => (await t.db.get<{ last_used_at: number }>('SELECT last_used_at FROM api_tokens'))!.last_used_at
    // The write is bookkeeping that does not hold up the answer: wait for it to land.
    const settled = () => t.app.settled()
    await t.request('POST', '/v1/auth/validate', { body: { token: token.secret } })
    await settled()
    writes.push(await lastUsed())
    t.clock.advance(30_000)
    await t.request('POST', '/v1/auth/validate', { body: { token: token.secret } })
    await settled()
    writes.push(await lastUsed())
    t.clock.advance(30_000)
    await t.request('POST', '/v1/auth/validate', { body: { token: token.secret } })
    await settled()
    writes.push(await lastUsed())
    const start = Date.UTC(2026, 2, 18, 9, 0, 0)
    expect(writes).toEqual([start, start, start + 60_000])
    const listed = await t.request('GET', '/v1/tokens', { token: session })
    expect(listed.json.tokens[0].last_used_at).toBe('2026-03-18T09:01:00Z')
  })
})
