import { describe, expect, test } from 'bun:test'
import { makeTestApp } from './helpers/app'
import { counterMatches, orgWithToken, setPlan, submit } from './helpers/fixtures'


describe('repositories and usage', () => {
  test('GET /v1/repos lists repositories with counts and latest coverage on the default branch', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t)
    await submit(t, token, { repo: 'api', branch: 'main', coverage: 81 })
    t.clock.advance(1000)
    await submit(t, token, { repo: 'api', branch: 'dev', coverage: 40 })
    const res = await t.request('GET', '/v1/repos', { token: session })
    expect(res.status).toBe(200)
    expect(res.json).toEqual({
      repos: [{ name: 'api', default_branch: 'main', private: false, executions: 2, latest_coverage: 81, last_execution_at: '2026-03-18T09:00:01Z', badge: { green: 80, yellow: 60, precision: 0, colour_by: 'coverage' } }],
      total: 1,
      limit: 50,
      next_cursor: null,
    })
  })

  test('PATCH /v1/repos/{repo} changes default branch and privacy (session only)', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t)
    await submit(t, token, { repo: 'api', branch: 'dev', coverage: 40 })
    const res = await t.request('PATCH', '/v1/repos/api', { token: session, body: { default_branch: 'dev', private: true } })
    expect(res.status).toBe(200)
    expect(res.json).toMatchObject({ name: 'api', default_branch: 'dev', private: true, latest_coverage: 40 })
    expect((await t.request('PATCH', '/v1/repos/api', { token, body: { private: false } })).status).toBe(403)
    expect((await t.request('PATCH', '/v1/repos/nope', { token: session, body: { private: false } })).json).toEqual({ error: 'repository not found' })
    expect((await t.request('PATCH', '/v1/repos/api', { token: session, body: { private: 'yes' } })).json).toEqual({ error: 'invalid body: private must be true or false' })
  })

  test("another organisation's repositories are invisible", async () => {
    const t = makeTestApp()
    const a = await orgWithToken(t, 'org-a')
    const b = await orgWithToken(t, 'org-b')
    await submit(t, a.token, { repo: 'secret-repo' })
    expect((await t.request('GET', '/v1/repos', { token: b.token })).json.repos).toEqual([])
    expect((await t.request('PATCH', '/v1/repos/secret-repo', { token: b.session, body: { private: true } })).status).toBe(404)
  })

  test('GET /v1/usage reports the plan, its limits and what is used', async () => {
    const t = makeTestApp()
    const { token, session, orgId } = await orgWithToken(t, 'acme', { plan: 'free' })
    await submit(t, token, { repo: 'one' })
    expect((await t.request('GET', '/v1/usage', { token: session })).json).toEqual({
      plan: 'free', repos: { used: 1, limit: 10 }, tokens: { used: 1, limit: 1 }, retention_days: 30, rate_limit_per_minute: 60,
    })
    await setPlan(t, orgId, 'enterprise')
    expect((await t.request('GET', '/v1/usage', { token: session })).json).toEqual({
      plan: 'enterprise', repos: { used: 1, limit: null }, tokens: { used: 1, limit: null }, retention_days: 365, rate_limit_per_minute: 6000,
    })
  })
})
