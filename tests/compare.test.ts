import { describe, expect, test } from 'bun:test'
import { makeTestApp } from './helpers/app'
import { createToken, orgWithToken, submit } from './helpers/fixtures'

const SHA_MAIN = 'a'.repeat(40)
const SHA_FEAT = 'b'.repeat(40)

/** main at 82.3 (09:00), then feat/auth at 81.0 (10:00), warn 0.5 / fail 1.0 by default. */
async function twoBranches(head: { coverage?: number; warn_threshold?: number; fail_threshold?: number } = {}) {
  const t = makeTestApp()
  const { token, session } = await orgWithToken(t)
  const base = (await submit(t, token, { branch: 'main', coverage: 82.3, commit: SHA_MAIN })).json
  t.clock.advance(3_600_000)
  const feat = (await submit(t, token, { branch: 'feat/auth', coverage: 81.0, commit: SHA_FEAT, ...head })).json
  const compare = (query: string, credential = token) => t.request('GET', `/v1/compare?org=acme&repo=api-service&${query}`, { token: credential })
  return { t, token, session, base, feat, compare }
}

describe('GET /v1/compare', () => {
  test('two branches: both newest runs, the delta, the outcome by the head run\'s thresholds, a stale base', async () => {
    const { base, feat, compare } = await twoBranches()
    const res = await compare('base=main&head=feat/auth')
    expect(res.status).toBe(200)
    expect(res.json).toEqual({
      base: { id: base.id, repo: 'api-service', branch: 'main', outcome: 'pass', delta: '+2.30', created_at: '2026-03-18T09:00:00Z', coverage: 82.3, baseline: 80, commit: SHA_MAIN, ref: 'main', ref_kind: 'branch' },
      head: { id: feat.id, repo: 'api-service', branch: 'feat/auth', outcome: 'pass', delta: '+1.00', created_at: '2026-03-18T10:00:00Z', coverage: 81, baseline: 80, commit: SHA_FEAT, ref: 'feat/auth', ref_kind: 'branch' },
      coverage_delta: -1.3,
      outcome: 'fail',
      stale_base: true,
    })
  })

  test('refs may be commits (full or as sent); a head run with looser thresholds warns; a fresh base is not stale', async () => {
    const { t, token, compare } = await twoBranches({ warn_threshold: 1, fail_threshold: 2 })
    const byCommit = await compare(`base=${SHA_MAIN}&head=${SHA_FEAT}`)
    expect([byCommit.json.base.ref_kind, byCommit.json.head.ref_kind, byCommit.json.outcome, byCommit.json.coverage_delta]).toEqual(['commit', 'commit', 'warn', -1.3])
    t.clock.advance(60_000)
    await submit(t, token, { branch: 'main', coverage: 81.2 })
    const fresh = await compare('base=main&head=feat/auth')
    expect([fresh.json.base.coverage, fresh.json.coverage_delta, fresh.json.outcome, fresh.json.stale_base]).toEqual([81.2, -0.2, 'pass', false])
  })

  test('a hex ref with no run of that commit is read as a branch name', async () => {
    const { t, token, compare } = await twoBranches()
    await submit(t, token, { branch: 'cafe123', coverage: 90 })
    const res = await compare('base=main&head=cafe123')
    expect([res.status, res.json.head.ref_kind, res.json.head.branch, res.json.coverage_delta]).toEqual([200, 'branch', 'cafe123', 7.7])
  })

  test('404 names the side with no run; missing parameters 400; another organisation 403; no token 401', async () => {
    const { t, token, compare } = await twoBranches()
    expect((await compare('base=develop&head=main')).json).toEqual({ error: 'no run for base "develop"' })
    const res = await compare('base=main&head=nope')
    expect([res.status, res.json]).toEqual([404, { error: 'no run for head "nope"' }])
    const ghost = await t.request('GET', '/v1/compare?org=acme&repo=ghost&base=main&head=main', { token })
    expect([ghost.status, ghost.json]).toEqual([404, { error: 'no run for base "main"' }])
    expect((await compare('head=main')).json).toEqual({ error: 'missing required parameter: base' })
    expect((await compare('base=main')).json).toEqual({ error: 'missing required parameter: head' })
    const other = await orgWithToken(t, 'other')
    expect((await compare('base=main&head=feat/auth', other.token)).status).toBe(403)
    expect((await t.request('GET', '/v1/compare?org=acme&repo=api-service&base=main&head=main')).status).toBe(401)
  })

  test('a read token and a session of the organisation may compare', async () => {
    const { t, session, compare } = await twoBranches()
    const reader = await createToken(t, session, { scopes: ['read'] })
    expect((await compare('base=main&head=feat/auth', session)).status).toBe(200)
    expect((await compare('base=main&head=feat/auth', reader.secret)).json.coverage_delta).toBe(-1.3)
  })
})
