import { describe, expect, test } from 'bun:test'
import { makeTestApp, SERVICE_TOKEN } from './helpers/app'
import { createToken, signIn, setPlan } from './helpers/fixtures'

const auditLines = (t: ReturnType<typeof makeTestApp>) => t.logger.lines.filter((l) => l.startsWith('[audit] '))
const auditRows = async (t: ReturnType<typeof makeTestApp>, action: string) =>
  (await t.db.all<any>('SELECT * FROM audit_events WHERE action = ? ORDER BY id', [action])) as any[]

describe('API tokens', () => {
  test('create returns the secret once in the contract format; only a hash is stored', async () => {
    const t = makeTestApp()
    const { session, orgId } = await signIn(t)
    const res = await t.request('POST', '/v1/tokens', { token: session, body: { name: 'ci', org_id: 'org_someone_else' } })
    expect(res.status).toBe(201)
    expect(Object.keys(res.json).sort()).toEqual(['agent_type', 'id', 'name', 'scopes', 'secret'])
    expect(res.json).toMatchObject({ name: 'ci', scopes: ['execute'], agent_type: '' })
    expect(res.json.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(res.json.secret).toMatch(/^nlp_[0-9a-f]{40}$/)
    // All 40 hex are random: the public id is not part of the secret, and the row stores only SHA-256 of the whole secret.
    expect(res.json.secret).not.toContain(res.json.id.replaceAll('-', '').slice(0, 8))
    const row = (await t.db.get<any>('SELECT org_id, secret_hash FROM api_tokens')) as any
    expect(row.org_id).toBe(orgId)
    expect(row.secret_hash).toBe(new Bun.CryptoHasher('sha256').update(res.json.secret).digest('hex'))
    expect(auditLines(t)).toContain(`[audit] token.create org_id=${orgId} token_id=${res.json.id} scopes=[execute] agent_type=""`)
    const rows = (await auditRows(t, 'token.create'))
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ org_id: orgId, actor: 'user:user-1', target: res.json.id })
    expect(t.logger.lines.join('\n')).not.toContain(res.json.secret)
  })

  test('list and get show metadata, never a secret or hash', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t, 'acme', { plan: 'team' })
    const a = await createToken(t, session, { name: 'a', scopes: ['read'], agent_type: 'cursor' })
    const list = await t.request('GET', '/v1/tokens', { token: session })
    expect(list.status).toBe(200)
    expect(list.json.tokens).toEqual([
      { id: a.id, name: 'a', status: 'active', scopes: ['read'], agent_type: 'cursor', created_at: '2026-03-18T09:00:00Z', last_used_at: null },
    ])
    expect(list.text).not.toContain(a.secret.slice(36))
    const one = await t.request('GET', `/v1/tokens/${a.id}`, { token: session })
    expect(one.json).toEqual(list.json.tokens[0])
  })

  test('unknown scopes answer 400', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    for (const scopes of [['admin'], [], 'execute']) {
      const res = await t.request('POST', '/v1/tokens', { token: session, body: { name: 'x', scopes } })
      expect(res.status).toBe(400)
      expect(res.json.error).toStartWith('invalid body: scopes')
    }
  })

  test('badge combined with any other scope answers 400 naming the rule and creates nothing', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t, 'acme', { plan: 'team' })
    for (const scopes of [['execute', 'badge'], ['badge', 'read'], ['read', 'execute', 'badge']]) {
      const res = await t.request('POST', '/v1/tokens', { token: session, body: { name: 'x', scopes } })
      expect([res.status, res.json]).toEqual([400, { error: 'invalid body: the badge scope cannot be combined with another scope (a badge URL must never carry a CI credential)' }])
    }
    expect((await t.request('GET', '/v1/tokens', { token: session })).json.tokens).toEqual([])
    const alone = await t.request('POST', '/v1/tokens', { token: session, body: { name: 'readme', scopes: ['badge', 'badge'] } })
    expect([alone.status, alone.json.scopes]).toEqual([201, ['badge']])
  })

  test('the free plan cap answers 402 with the exact message', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    await createToken(t, session)
    const res = await t.request('POST', '/v1/tokens', { token: session, body: { name: 'second' } })
    expect(res.status).toBe(402)
    expect(res.json).toEqual({ error: 'token limit reached for your plan (1/1 tokens used). Upgrade to create more tokens.' })
    expect((await t.db.get<any>('SELECT count(*) AS n FROM api_tokens'))).toEqual({ n: 1 })
  })

  test('a revoked token frees its place under the cap; a rotating one does not until its grace ends', async () => {
    const t = makeTestApp({ TOKEN_ROTATION_GRACE_SECONDS: '600' })
    const { session } = await signIn(t)
    const first = await createToken(t, session)
    const rotated = await t.request('POST', `/v1/tokens/${first.id}/rotate`, { token: session })
    expect(rotated.status).toBe(200)
    expect((await t.request('POST', '/v1/tokens', { token: session, body: { name: 'x' } })).status).toBe(402)
    t.clock.advance(600_000)
    // the old one's grace is over, yet the new one still fills the only place
    expect((await t.request('POST', '/v1/tokens', { token: session, body: { name: 'x' } })).status).toBe(402)
    expect((await t.request('DELETE', `/v1/tokens/${rotated.json.id}`, { token: session })).status).toBe(204)
    expect((await t.request('POST', '/v1/tokens', { token: session, body: { name: 'x' } })).status).toBe(201)
  })

  test('team and enterprise caps', async () => {
    const t = makeTestApp()
    const team = await signIn(t, 'team-org', { plan: 'team' })
    for (let i = 0; i < 10; i++) await createToken(t, team.session, { name: `t${i}` })
    const refused = await t.request('POST', '/v1/tokens', { token: team.session, body: { name: 'eleventh' } })
    expect(refused.json).toEqual({ error: 'token limit reached for your plan (10/10 tokens used). Upgrade to create more tokens.' })
    await setPlan(t, team.orgId, 'enterprise')
    expect((await t.request('POST', '/v1/tokens', { token: team.session, body: { name: 'eleventh' } })).status).toBe(201)
  })

  test('PATCH changes agent_type and rejects a bad one', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const token = await createToken(t, session)
    const ok = await t.request('PATCH', `/v1/tokens/${token.id}`, { token: session, body: { agent_type: 'github_copilot' } })
    expect(ok.status).toBe(200)
    expect(ok.json.agent_type).toBe('github_copilot')
    const bad = await t.request('PATCH', `/v1/tokens/${token.id}`, { token: session, body: { agent_type: 'Claude Code' } })
    expect(bad.status).toBe(400)
    expect(bad.json).toEqual({ error: 'invalid body: agent_type must match ^[a-z0-9_]{0,32}$' })
    const validated = await t.request('POST', '/v1/auth/validate', { body: { token: token.secret } })
    expect(validated.status).toBe(200)
  })

  test("another organisation's token id answers 404 on every token route", async () => {
    const t = makeTestApp()
    const a = await signIn(t, 'org-a')
    const b = await signIn(t, 'org-b')
    const token = await createToken(t, a.session)
    for (const [method, path, body] of [
      ['GET', `/v1/tokens/${token.id}`, undefined],
      ['PATCH', `/v1/tokens/${token.id}`, { agent_type: 'x' }],
      ['POST', `/v1/tokens/${token.id}/rotate`, undefined],
      ['DELETE', `/v1/tokens/${token.id}`, undefined],
    ] as const) {
      const res = await t.request(method, path, { token: b.session, body })
      expect(res.status).toBe(404)
      expect(res.json).toEqual({ error: 'token not found' })
    }
    expect((await t.request('GET', '/v1/tokens', { token: b.session })).json.tokens).toEqual([])
    expect((await t.request('POST', '/v1/auth/validate', { body: { token: token.secret } })).status).toBe(200)
  })
})

describe('rotation and revocation', () => {
  test('a rotated token stays valid until the grace period ends, then reads as revoked', async () => {
    const t = makeTestApp({ TOKEN_ROTATION_GRACE_SECONDS: '3600' })
    const { session } = await signIn(t)
    const old = await createToken(t, session, { agent_type: 'cursor', scopes: ['execute', 'read'] })
    const res = await t.request('POST', `/v1/tokens/${old.id}/rotate`, { token: session })
    expect(res.status).toBe(200)
    expect(Object.keys(res.json).sort()).toEqual(['id', 'secret'])
    const fresh = await t.request('GET', `/v1/tokens/${res.json.id}`, { token: session })
    expect(fresh.json).toMatchObject({ name: 'ci', scopes: ['execute', 'read'], agent_type: 'cursor', status: 'active' })
    expect((await t.request('GET', `/v1/tokens/${old.id}`, { token: session })).json.status).toBe('rotating')
    expect((await t.request('POST', '/v1/auth/validate', { body: { token: old.secret } })).status).toBe(200)
    t.clock.advance(3_599_000)
    expect((await t.request('POST', '/v1/auth/validate', { body: { token: old.secret } })).status).toBe(200)
    t.clock.advance(1_000)
    const after = await t.request('POST', '/v1/auth/validate', { body: { token: old.secret } })
    expect(after.status).toBe(401)
    expect((await t.request('GET', `/v1/tokens/${old.id}`, { token: session })).json.status).toBe('revoked')
    expect((await t.request('POST', '/v1/auth/validate', { body: { token: res.json.secret } })).status).toBe(200)
    expect(auditLines(t)).toContain(`[audit] token.rotate old_id=${old.id} new_id=${res.json.id}`)
  })

  test('rotating a rotating or revoked token answers 409', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t, 'acme', { plan: 'team' })
    const a = await createToken(t, session)
    await t.request('POST', `/v1/tokens/${a.id}/rotate`, { token: session })
    const again = await t.request('POST', `/v1/tokens/${a.id}/rotate`, { token: session })
    expect(again.status).toBe(409)
    expect(again.json).toEqual({ error: 'token is rotating and cannot be rotated' })
    const b = await createToken(t, session)
    await t.request('DELETE', `/v1/tokens/${b.id}`, { token: session })
    expect((await t.request('POST', `/v1/tokens/${b.id}/rotate`, { token: session })).status).toBe(409)
  })

  test('rotation is allowed at the token cap', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const a = await createToken(t, session)
    expect((await t.request('POST', `/v1/tokens/${a.id}/rotate`, { token: session })).status).toBe(200)
  })

  test('a revoked token is refused from the very next request, through the cache', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const token = await createToken(t, session)
    // warm the cache
    expect((await t.request('POST', '/v1/auth/validate', { body: { token: token.secret } })).status).toBe(200)
    expect((await t.request('GET', '/v1/executions?org=acme&repo=r', { token: token.secret })).status).toBe(200)
    expect((await t.request('DELETE', `/v1/tokens/${token.id}`, { token: session })).status).toBe(204)
    expect((await t.request('POST', '/v1/auth/validate', { body: { token: token.secret } })).json).toEqual({ error: 'invalid token' })
    const read = await t.request('GET', '/v1/executions?org=acme&repo=r', { token: token.secret })
    expect(read.status).toBe(401)
    expect(read.json).toEqual({ error: 'invalid token' })
    expect((await t.request('GET', `/v1/tokens/${token.id}`, { token: session })).json.status).toBe('revoked')
    expect(auditLines(t)).toContain(`[audit] token.revoke token_id=${token.id}`)
  })
})

describe('audit trail', () => {
  test('an audit row is written in the same transaction as its change: a refused change leaves neither', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    await createToken(t, session)
    const before = (await auditRows(t, 'token.create')).length
    await t.request('POST', '/v1/tokens', { token: session, body: { name: 'over-cap' } })
    expect((await auditRows(t, 'token.create'))).toHaveLength(before)
    expect(auditLines(t).filter((l) => l.startsWith('[audit] token.create'))).toHaveLength(1)
  })

  test('no secret reaches any log line', async () => {
    const t = makeTestApp()
    const { session, sessionId } = await signIn(t)
    const token = await createToken(t, session)
    const rotated = await t.request('POST', `/v1/tokens/${token.id}/rotate`, { token: session })
    await t.request('POST', '/v1/auth/validate', { body: { token: token.secret } })
    await t.request('GET', '/v1/tokens', { token: session })
    await t.request('DELETE', `/v1/sessions/${sessionId}`)
    await new Promise((resolve) => setImmediate(resolve))
    const all = t.logger.lines.join('\n')
    for (const secret of [session, token.secret, rotated.json.secret, SERVICE_TOKEN]) expect(all).not.toContain(secret)
  })
})
