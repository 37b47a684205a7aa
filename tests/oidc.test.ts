import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose'
import { makeTestApp, type TestApp } from './helpers/app'
import { orgWithToken, setPlan } from './helpers/fixtures'

/*
 * Tokenless CI: a real issuer on loopback (discovery document and JWKS, keys made with jose) signs tokens
 * with GitHub Actions' claim set; nothing in the verifier is mocked. The apps' clocks follow the real one
 * (the issuer's tokens carry real times).
 */
let issuer: ReturnType<typeof Bun.serve>
let ISSUER = ''
let jwksFetches = 0
const keys: { kid: string; privateKey: CryptoKey; jwk: JWK }[] = []
let published: JWK[] = []

beforeAll(async () => {
  for (const kid of ['k1', 'k2']) {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
    keys.push({ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } })
  }
  published = [keys[0]!.jwk] // k2 is made but not published: an unknown kid
  issuer = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(request) {
      const path = new URL(request.url).pathname
      if (path === '/.well-known/openid-configuration') return Response.json({ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` })
      if (path === '/jwks') return jwksFetches++, Response.json({ keys: published })
      return new Response('not found', { status: 404 })
    },
  })
  ISSUER = `http://127.0.0.1:${issuer.port}`
})
afterAll(() => issuer.stop(true))

const CLAIMS = {
  repository: 'Acme/API-Service',
  repository_id: '123456',
  repository_owner_id: '7890',
  workflow_ref: 'Acme/API-Service/.github/workflows/ci.yml@refs/heads/main',
  sha: '0123456789abcdef0123456789abcdef01234567',
  ref: 'refs/heads/main',
}

async function sign(overrides: { claims?: Record<string, unknown>; aud?: string; iss?: string; kid?: string; expiresIn?: string | number; notBefore?: number } = {}) {
  const key = keys.find((k) => k.kid === (overrides.kid ?? 'k1'))!
  let jwt = new SignJWT({ ...CLAIMS, ...overrides.claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(overrides.iss ?? ISSUER)
    .setAudience(overrides.aud ?? 'nolapse')
    .setIssuedAt()
    .setExpirationTime(overrides.expiresIn ?? '5m')
  if (overrides.notBefore !== undefined) jwt = jwt.setNotBefore(overrides.notBefore)
  return jwt.sign(key.privateKey)
}

/** An app on the real clock, an organisation on the team plan, and a binding of Acme/API-Service. */
async function bound(binding: Record<string, unknown> = {}) {
  const t = makeTestApp({ OIDC_ISSUERS: `${ISSUER},https://ghes.example.com/_services/token` }, { clock: { now: () => Date.now() } })
  const { token, session } = await orgWithToken(t, 'acme', { plan: 'team' })
  const res = await t.request('POST', '/v1/oidc/bindings', { token: session, body: { provider: 'github', repository: 'Acme/API-Service', repo: 'api-service', ...binding } })
  expect(res.status).toBe(201)
  const post = (jwt: string, body: Record<string, unknown> = {}) =>
    t.request('POST', '/v1/executions', { token: jwt, body: { repo: 'api-service', branch: 'main', coverage: 82.5, ...body } })
  return { t, token, session, binding: res.json, post }
}

const refusals = async (t: TestApp) =>
  (await t.db.all<{ metadata: string }>("SELECT metadata FROM audit_events WHERE action = 'auth.denied' ORDER BY id")).map((row) => JSON.parse(row.metadata).reason)

describe('POST /v1/executions with a GitHub Actions OIDC token', () => {
  test('a bound repository records a run; the binding takes the first token\'s ids; the run has its own rate-limit bucket', async () => {
    const { t, session, binding, post } = await bound()
    expect(binding).toMatchObject({ provider: 'github', repository: 'acme/api-service', repo: 'api-service', repository_id: null, repository_owner_id: null, workflow: null })
    const res = await post(await sign())
    expect(res.status).toBe(201)
    expect(res.json).toMatchObject({ repo: 'api-service', branch: 'main', coverage: 82.5, agent_type: 'github-actions' })
    expect(res.headers.get('ratelimit-limit')).toBe('600')
    expect((await t.db.get<{ token_id: string }>('SELECT token_id FROM executions'))!.token_id).toBe(binding.id)
    const list = await t.request('GET', '/v1/oidc/bindings', { token: session })
    expect(list.json.bindings[0]).toMatchObject({ repository_id: '123456', repository_owner_id: '7890' })
  })

  test("branch and commit default to the token's ref and sha; an API token's run must still name its branch", async () => {
    const { t, token, post } = await bound()
    const res = await post(await sign({ claims: { ref: 'refs/heads/feat/login' } }), { branch: undefined })
    expect([res.status, res.json.branch, res.json.commit]).toEqual([201, 'feat/login', CLAIMS.sha])
    const sent = await post(await sign(), { branch: 'release', commit: 'abcdef1' })
    expect([sent.json.branch, sent.json.commit]).toEqual(['release', 'abcdef1'])
    const api = await t.request('POST', '/v1/executions', { token, body: { repo: 'api-service', coverage: 80 } })
    expect([api.status, api.json]).toEqual([400, { error: 'invalid body: branch is required' }])
  })

  test('a repository recreated or transferred (same name, other ids) is refused and audited as oidc.id_mismatch', async () => {
    const { t, post } = await bound({ repository_id: '123456', repository_owner_id: '7890' })
    for (const claims of [{ repository_id: '999' }, { repository_owner_id: '111' }]) {
      const res = await post(await sign({ claims }))
      expect([res.status, res.json]).toEqual([401, { error: 'invalid token: repository ids differ from the binding' }])
    }
    expect(await refusals(t)).toEqual(['oidc.id_mismatch', 'oidc.id_mismatch'])
    expect((await t.db.get<{ n: number }>('SELECT count(*) AS n FROM executions'))!.n).toBe(0)
  })

  test.each([
    ['wrong audience', { aud: 'someone-else' }, 'wrong audience', 'oidc.audience'],
    ['expired', { expiresIn: Math.floor(Date.now() / 1000) - 120 }, 'token expired', 'oidc.expired'],
    ['not yet valid', { notBefore: Math.floor(Date.now() / 1000) + 600 }, 'token not yet valid', 'oidc.not_yet_valid'],
    ['unknown issuer', { iss: 'https://token.actions.example.com' }, 'unknown issuer', 'oidc.unknown_issuer'],
    ['unbound repository', { claims: { repository: 'acme/other' } }, 'repository not bound', 'oidc.unbound'],
    ['unknown kid', { kid: 'k2' }, 'unknown signing key', 'oidc.unknown_key'],
  ] as const)('%s: 401 saying why, one audit line, nothing recorded', async (_, overrides, reason, audited) => {
    const { t, post } = await bound()
    const res = await post(await sign(overrides as Parameters<typeof sign>[0]))
    expect([res.status, res.json]).toEqual([401, { error: `invalid token: ${reason}` }])
    expect(await refusals(t)).toEqual([audited])
    expect((await t.db.get<{ n: number }>('SELECT count(*) AS n FROM executions'))!.n).toBe(0)
  })

  test('60 s of clock skew are tolerated, not more', async () => {
    const { post } = await bound()
    expect((await post(await sign({ expiresIn: Math.floor(Date.now() / 1000) - 30 }))).status).toBe(201)
  })

  test('alg none and HS256 signed with the issuer\'s public key are refused before any key is trusted', async () => {
    const { t, post } = await bound()
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
    const now = Math.floor(Date.now() / 1000)
    const payload = b64({ ...CLAIMS, iss: ISSUER, aud: 'nolapse', iat: now, exp: now + 300 })
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`
    const hmacKey = new TextEncoder().encode(JSON.stringify(keys[0]!.jwk))
    const hs256 = await new SignJWT({ ...CLAIMS }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuer(ISSUER).setAudience('nolapse').setIssuedAt().setExpirationTime('5m').sign(hmacKey)
    for (const jwt of [none, hs256]) {
      const res = await post(jwt)
      expect([res.status, res.json]).toEqual([401, { error: 'invalid token: signing algorithm not allowed' }])
    }
    expect(await refusals(t)).toEqual(['oidc.algorithm', 'oidc.algorithm'])
  })

  test('a bad signature is refused', async () => {
    const { post } = await bound()
    const jwt = await sign()
    const [header, payload] = jwt.split('.')
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), repository_id: '123456' })).toString('base64url')}.${jwt.split('.')[2]!.slice(0, -4)}AAAA`
    expect((await post(forged)).json).toEqual({ error: 'invalid token: bad signature' })
  })

  test('a binding with a workflow or an environment accepts only those', async () => {
    const { post } = await bound({ workflow: 'release.yml', environment: 'production' })
    expect((await post(await sign({ claims: { environment: 'production' } }))).json).toEqual({ error: 'invalid token: workflow differs from the binding' })
    const release = { workflow_ref: 'Acme/API-Service/.github/workflows/release.yml@refs/tags/v1' }
    expect((await post(await sign({ claims: { ...release, environment: 'staging' } }))).json).toEqual({ error: 'invalid token: environment differs from the binding' })
    expect((await post(await sign({ claims: { ...release, environment: 'production' } }))).status).toBe(201)
  })

  test('the token records runs of its binding\'s repository only, and is no credential anywhere else', async () => {
    const { t, post } = await bound()
    const jwt = await sign()
    expect((await post(jwt, { repo: 'other-service' })).status).toBe(403)
    expect((await t.request('GET', '/v1/executions?org=acme&repo=api-service', { token: jwt })).json).toEqual({ error: 'invalid token' })
    expect((await t.request('GET', '/v1/tokens', { token: jwt })).status).toBe(401)
  })

  test('an unknown kid refetches the keys at most every 30 s (no fetch storm)', async () => {
    const { post } = await bound()
    await post(await sign())
    const before = jwksFetches
    for (let i = 0; i < 20; i++) await post(await sign({ kid: 'k2' }))
    expect(jwksFetches - before).toBeLessThanOrEqual(1)
  })
})

describe('an issuer whose keys cannot be fetched', () => {
  test('503 with Retry-After, not a refusal: nothing audited or counted; the next token tries the discovery again', async () => {
    let up = false
    let base = ''
    const flaky: ReturnType<typeof Bun.serve> = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(request): Response {
        if (!up) return new Response('down', { status: 502 })
        const path = new URL(request.url).pathname
        if (path === '/.well-known/openid-configuration') return Response.json({ issuer: base, jwks_uri: `${base}/jwks` })
        return Response.json({ keys: [keys[0]!.jwk] })
      },
    })
    base = `http://127.0.0.1:${flaky.port}`
    try {
      const t = makeTestApp({ OIDC_ISSUERS: base }, { clock: { now: () => Date.now() } })
      const { session } = await orgWithToken(t, 'acme', { plan: 'team' })
      await t.request('POST', '/v1/oidc/bindings', { token: session, body: { provider: 'github', repository: 'Acme/API-Service', repo: 'api-service' } })
      const jwt = await sign({ iss: base })
      const down = await t.request('POST', '/v1/executions', { token: jwt, body: { repo: 'api-service', branch: 'main', coverage: 80 } })
      expect([down.status, down.json, down.headers.get('retry-after')]).toEqual([503, { error: 'OIDC issuer keys unavailable: try again later' }, '5'])
      expect(await refusals(t)).toEqual([])
      up = true
      expect((await t.request('POST', '/v1/executions', { token: jwt, body: { repo: 'api-service', branch: 'main', coverage: 80 } })).status).toBe(201)
    } finally {
      flaky.stop(true)
    }
  })
})

describe('/v1/oidc/bindings', () => {
  test('session only; free gets one binding (402 for the second); a repository is bound once (409); delete is 204 then 404', async () => {
    const t = makeTestApp()
    const { token, session, orgId } = await orgWithToken(t, 'acme', { plan: 'free' })
    const body = (repository: string) => ({ provider: 'github', repository, repo: 'api-service' })
    expect((await t.request('POST', '/v1/oidc/bindings', { token, body: body('acme/a') })).status).toBe(403)
    const first = await t.request('POST', '/v1/oidc/bindings', { token: session, body: body('acme/a') })
    expect(first.status).toBe(201)
    expect(first.json.id).toMatch(/^oib_[0-9a-z]{26}$/)
    const second = await t.request('POST', '/v1/oidc/bindings', { token: session, body: body('acme/b') })
    expect([second.status, second.json]).toEqual([402, { error: 'OIDC binding limit reached for your plan (1/1 bindings used); the team plan allows more' }])
    await setPlan(t, orgId, 'team')
    expect((await t.request('POST', '/v1/oidc/bindings', { token: session, body: body('acme/b') })).status).toBe(201)
    const other = await orgWithToken(t, 'other', { plan: 'team' })
    const taken = await t.request('POST', '/v1/oidc/bindings', { token: other.session, body: body('ACME/A') })
    expect([taken.status, taken.json]).toEqual([409, { error: 'acme/a is bound already' }])
    expect((await t.request('DELETE', `/v1/oidc/bindings/${first.json.id}`, { token: other.session })).status).toBe(404)
    expect((await t.request('DELETE', `/v1/oidc/bindings/${first.json.id}`, { token: session })).status).toBe(204)
    expect((await t.request('DELETE', `/v1/oidc/bindings/${first.json.id}`, { token: session })).json).toEqual({ error: 'binding not found' })
  })

  test.each([
    [{ provider: 'gitlab' }, 'invalid body: provider must be github'],
    [{ repository: 'no-slash' }, 'invalid body: repository must be owner/name as on GitHub'],
    [{ workflow: '../ci.yml' }, 'invalid body: workflow must be a workflow file name such as ci.yml'],
    [{ repository_id: '12ab' }, "invalid body: repository_id must be GitHub's numeric id, as a string of digits"],
  ])('%p is 400', async (change, error) => {
    const t = makeTestApp()
    const { session } = await orgWithToken(t)
    const res = await t.request('POST', '/v1/oidc/bindings', { token: session, body: { provider: 'github', repository: 'acme/a', repo: 'api-service', ...change } })
    expect([res.status, res.json]).toEqual([400, { error }])
  })
})
