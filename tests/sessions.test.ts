import { describe, expect, test } from 'bun:test'
import { sessionRef } from '../src/lib/ids'
import { onPostgres } from './helpers/db'
import { makeTestApp, SERVICE_TOKEN } from './helpers/app'
import { createToken, signIn } from './helpers/fixtures'

const auditLines = (t: ReturnType<typeof makeTestApp>) => t.logger.lines.filter((l) => l.startsWith('[audit] '))
const auditRows = async (t: ReturnType<typeof makeTestApp>, action: string) =>
  (await t.db.all<any>('SELECT * FROM audit_events WHERE action = ? ORDER BY id', [action])) as any[]

describe('POST /v1/sessions/create', () => {
  test('creates the organisation on the free plan and a session with the server-enforced TTL', async () => {
    const t = makeTestApp({ SESSION_TTL_SECONDS: '3600' })
    const res = await t.request('POST', '/v1/sessions/create', { token: SERVICE_TOKEN, body: { user_id: 'u-1', org_slug: 'acme', org_name: 'Acme', ttl: 999999 } })
    expect(res.status).toBe(201)
    expect(Object.keys(res.json).sort()).toEqual(['expires_at', 'id', 'org_id', 'org_slug', 'token', 'user_id'])
    expect(res.json.id).toMatch(/^ses_[0-9a-f]{32}$/)
    expect(res.json.token).toMatch(/^nls_[0-9a-f]{64}$/)
    expect(res.json.org_id).toMatch(/^org_[0-9a-z]{26}$/)
    expect(res.json.expires_at).toBe('2026-03-18T10:00:00Z')
    const org = (await t.db.get<any>('SELECT slug, name, plan FROM organisations'))
    expect(org).toEqual({ slug: 'acme', name: 'Acme', plan: 'free' })
    const stored = (await t.db.get<any>('SELECT token_hash FROM sessions')) as any
    expect(stored.token_hash).not.toContain(res.json.token.slice(4))
    expect(auditLines(t)).toContain(`[audit] session.create user_id=u-1 org_id=${res.json.org_id} session=${sessionRef(res.json.id)}`)
  })

  test('a second session for the same slug joins the existing organisation', async () => {
    const t = makeTestApp()
    const a = await signIn(t, 'acme', { user: 'a' })
    const b = await signIn(t, 'acme', { user: 'b' })
    expect(b.orgId).toBe(a.orgId)
    expect((await t.db.get<any>('SELECT count(*) AS n FROM organisations'))).toEqual({ n: 1 })
  })

  test('a wrong or missing service token answers 401 and writes an audit line', async () => {
    const t = makeTestApp()
    for (const token of ['wrong-token', undefined]) {
      const res = await t.request('POST', '/v1/sessions/create', { token, body: { user_id: 'u', org_slug: 'acme' } })
      expect(res.status).toBe(401)
      expect(res.json).toEqual({ error: 'unauthorized' })
    }
    expect(auditLines(t)).toContain('[audit] session.create.denied reason=invalid_service_token remote=unknown')
    expect((await auditRows(t, 'session.create.denied'))).toHaveLength(2)
    expect((await t.db.get<any>('SELECT count(*) AS n FROM sessions'))).toEqual({ n: 0 })
    expect(t.logger.lines.join('\n')).not.toContain('wrong-token')
  })

  test('without SERVICE_TOKEN the route fails closed with 500', async () => {
    const t = makeTestApp({ SERVICE_TOKEN: '' })
    const res = await t.request('POST', '/v1/sessions/create', { token: 'anything', body: { user_id: 'u', org_slug: 'acme' } })
    expect(res.status).toBe(500)
    expect(res.json).toEqual({ error: 'service token not configured' })
  })

  test.each([['Acme'], ['-acme'], ['a'.repeat(40)], ['ac_me']])('slug %p is refused with 400', async (slug) => {
    const t = makeTestApp()
    const res = await t.request('POST', '/v1/sessions/create', { token: SERVICE_TOKEN, body: { user_id: 'u', org_slug: slug } })
    expect(res.status).toBe(400)
    expect(res.json.error).toStartWith('invalid body: org_slug must match')
  })

  test('an expired session is refused with 401', async () => {
    const t = makeTestApp({ SESSION_TTL_SECONDS: '60' })
    const { session } = await signIn(t)
    expect((await t.request('GET', '/v1/tokens', { token: session })).status).toBe(200)
    t.clock.advance(60_000)
    const res = await t.request('GET', '/v1/tokens', { token: session })
    expect(res.status).toBe(401)
    expect(res.json).toEqual({ error: 'unauthorized' })
  })

  test('session ids are not predictable from one another, even within one millisecond', async () => {
    const t = makeTestApp()
    const ids = [] as string[]
    for (let i = 0; i < 20; i++) ids.push((await signIn(t, 'acme', { user: `u${i}` })).sessionId)
    const randomParts = ids.map((id) => id.slice(4))
    expect(new Set(randomParts).size).toBe(20)
    // with the manual clock every session shares one millisecond: a monotonic ULID would differ only in its last characters
    const sharedPrefix = (a: string, b: string) => [...a].findIndex((c, i) => c !== b[i])
    expect(Math.min(...randomParts.slice(1).map((p, i) => sharedPrefix(p, randomParts[i]!)))).toBeLessThan(8)
  })

  test("no audit row, audit line or other answer shows a session's id: a member cannot log out another", async () => {
    const t = makeTestApp()
    const alice = await signIn(t, 'acme', { plan: 'enterprise', user: 'alice' })
    const bob = await signIn(t, 'acme', { user: 'bob' })
    await t.request('DELETE', `/v1/sessions/${(await signIn(t, 'acme', { user: 'carol' })).sessionId}`)
    const log = await t.request('GET', '/v1/audit-log?limit=100', { token: alice.session })
    expect(log.status).toBe(200)
    const shown = JSON.stringify(log.json) + t.logger.lines.join('\n')
    for (const id of [alice.sessionId, bob.sessionId]) expect(shown).not.toContain(id)
    const bobCreated = log.json.events.find((e: any) => e.action === 'session.create' && e.actor === 'user:bob')
    expect([bobCreated.target, bobCreated.metadata.session]).toEqual([sessionRef(bob.sessionId), sessionRef(bob.sessionId)])
    expect(log.json.events.filter((e: any) => e.action === 'session.delete').map((e: any) => e.target)).toHaveLength(1)
    // Alice deletes by what the audit log showed her: it is not Bob's id, so Bob stays signed in.
    expect((await t.request('DELETE', `/v1/sessions/${bobCreated.target}`)).status).toBe(204)
    expect((await t.request('GET', '/v1/tokens', { token: bob.session })).status).toBe(200)
  })

  test('audit rows written before session references have their session ids removed by the migration', async () => {
    const t = makeTestApp()
    const { sessionId, orgId } = await signIn(t)
    await t.db.run("INSERT INTO audit_events (id, org_id, action, actor, target, metadata, remote, created_at) VALUES ('aud_old', ?, 'session.create', 'user:u', ?, ?, NULL, 0)", [orgId, sessionId, JSON.stringify({ user_id: 'u', org_id: orgId, session_id: sessionId })])
    const file = onPostgres ? 'drizzle/pg/0003_redact_session_ids.sql' : 'drizzle/sqlite/0006_redact_session_ids.sql'
    const statement = (await Bun.file(file).text()).split('\n').filter((l) => !l.startsWith('--')).join('\n')
    await t.db.run(statement)
    const row = await t.db.get<any>("SELECT target, metadata FROM audit_events WHERE id = 'aud_old'")
    expect([row.target, JSON.parse(row.metadata)]).toEqual([null, { user_id: 'u', org_id: orgId }])
  })

  test('DELETE /v1/sessions/{id} ends the session and answers 204 also when already gone', async () => {
    const t = makeTestApp()
    const { session, sessionId } = await signIn(t)
    expect((await t.request('DELETE', `/v1/sessions/${sessionId}`)).status).toBe(204)
    expect((await t.request('DELETE', `/v1/sessions/${sessionId}`)).status).toBe(204)
    expect((await t.request('GET', '/v1/tokens', { token: session })).status).toBe(401)
    expect(auditLines(t)).toContain(`[audit] session.delete session=${sessionRef(sessionId)}`)
  })
})

describe('session routes refuse other credentials', () => {
  test('no credential: 401 unauthorized and an auth.denied audit line', async () => {
    const t = makeTestApp()
    const res = await t.request('GET', '/v1/tokens')
    expect(res.status).toBe(401)
    expect(res.json).toEqual({ error: 'unauthorized' })
    expect(auditLines(t)).toContain('[audit] auth.denied method=GET path=/v1/tokens reason=missing_token remote=unknown')
  })

  test('an API token on a session route: 403 forbidden', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const token = await createToken(t, session)
    const res = await t.request('GET', '/v1/tokens', { token: token.secret })
    expect(res.status).toBe(403)
    expect(res.json).toEqual({ error: 'forbidden' })
  })

  test.each([['nls_' + '0'.repeat(64)], ['nls_short'], ['garbage'], ['']])('credential %p: 401', async (value) => {
    const t = makeTestApp()
    const res = await t.request('GET', '/v1/tokens', { headers: { authorization: `Bearer ${value}` } })
    expect(res.status).toBe(401)
    expect(res.json).toEqual({ error: 'unauthorized' })
  })

  test('a session in the wrong header form is refused', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    for (const header of [session, `Basic ${session}`, `Token ${session}`, `Bearer  ${session}`]) {
      expect((await t.request('GET', '/v1/tokens', { headers: { authorization: header } })).status).toBe(401)
    }
    expect((await t.request('GET', '/v1/tokens', { headers: { authorization: `bearer ${session}` } })).status).toBe(200)
  })
})
