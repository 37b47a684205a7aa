import { describe, expect, test } from 'bun:test'
import { sweepRetention } from '../src/modules/retention/service'
import { makeTestApp } from './helpers/app'
import { createToken, orgWithToken, signIn, submit } from './helpers/fixtures'

const DAY = 86_400_000

describe('GET /v1/analytics', () => {
  test('free plan: 402 naming the plan needed', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const res = await t.request('GET', '/v1/analytics', { token: session })
    expect([res.status, res.json]).toEqual([402, { error: 'analytics requires the team or enterprise plan' }])
  })

  test('sessions only: an API token gets 403', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t, 'acme', { plan: 'team' })
    expect((await t.request('GET', '/v1/analytics', { token })).status).toBe(403)
  })

  test('empty data: zero totals, one zero row per day, no repos or agents', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t, 'acme', { plan: 'team' })
    const res = await t.request('GET', '/v1/analytics?days=3', { token: session })
    expect(res.status).toBe(200)
    expect(res.json).toEqual({
      window: { from: '2026-03-16T00:00:00Z', to: '2026-03-18T09:00:00Z', days: 3 },
      totals: { executions: 0, pass: 0, warn: 0, fail: 0, repos: 0 },
      repos: [],
      daily: ['2026-03-16', '2026-03-17', '2026-03-18'].map((date) => ({ date, executions: 0, pass: 0, warn: 0, fail: 0, avg_coverage: null })),
      agents: [],
    })
  })

  test('numbers on a known data set match hand-computed expectations', async () => {
    const t = makeTestApp()
    const { session, token } = await orgWithToken(t, 'acme', { plan: 'team', agent_type: 'cursor' })
    const claude = await createToken(t, session, { name: 'claude', agent_type: 'claude_code' })
    const start = t.clock.now() // 2026-03-18T09:00:00Z
    // outside the 2-day window (3 days ago): must not count
    t.clock.set(start - 3 * DAY)
    await submit(t, token, { repo: 'api', coverage: 10, delta: -5 })
    // yesterday: api 70 (pass), api 72 (fail, claude), web 50 (warn)
    t.clock.set(start - DAY)
    await submit(t, token, { repo: 'api', coverage: 70, delta: 0 })
    t.clock.advance(1000)
    await submit(t, claude.secret, { repo: 'api', coverage: 72, delta: -2 })
    t.clock.advance(1000)
    await submit(t, token, { repo: 'web', coverage: 50, delta: -0.7 })
    // today: api 75.5 (pass, claude)
    t.clock.set(start)
    await submit(t, claude.secret, { repo: 'api', coverage: 75.5, delta: 1 })
    const res = await t.request('GET', '/v1/analytics?days=2', { token: session })
    expect(res.json).toEqual({
      window: { from: '2026-03-17T00:00:00Z', to: '2026-03-18T09:00:00Z', days: 2 },
      totals: { executions: 4, pass: 2, warn: 1, fail: 1, repos: 2 },
      repos: [
        { repo: 'api', latest_coverage: 75.5, coverage_change: 5.5, executions: 3, fail_rate: 0.3333 },
        { repo: 'web', latest_coverage: 50, coverage_change: 0, executions: 1, fail_rate: 0 },
      ],
      daily: [
        { date: '2026-03-17', executions: 3, pass: 1, warn: 1, fail: 1, avg_coverage: 64 },
        { date: '2026-03-18', executions: 1, pass: 1, warn: 0, fail: 0, avg_coverage: 75.5 },
      ],
      agents: [
        { agent_type: 'claude_code', executions: 2, fail_rate: 0.5 },
        { agent_type: 'cursor', executions: 2, fail_rate: 0 },
      ],
    })
    const api = await t.request('GET', '/v1/analytics?days=2&repo=api', { token: session })
    expect(api.json.totals).toEqual({ executions: 3, pass: 2, warn: 0, fail: 1, repos: 1 })
    const unknown = await t.request('GET', '/v1/analytics?days=2&repo=nope', { token: session })
    expect(unknown.json.totals.executions).toBe(0)
    const week = await t.request('GET', '/v1/analytics', { token: session })
    expect(week.json.window.days).toBe(30)
    expect(week.json.totals.executions).toBe(5)
  })

  test('the daily rollups always equal a recomputation from the executions, through inserts and retention', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t, 'acme', { plan: 'team', agent_type: 'cursor' })
    const claude = await createToken(t, session, { name: 'claude', agent_type: 'claude_code' })
    const snapshot = () => t.db.all<any>('SELECT org_id, day, repo_id, agent_type, executions, pass, warn, fail, round(CAST(coverage_sum AS NUMERIC), 6) AS s FROM daily_rollups ORDER BY 1, 2, 3, 4')
    const count = (outcome: string) => `sum(CASE WHEN outcome = '${outcome}' THEN 1 ELSE 0 END) AS ${outcome}`
    const recomputed = () =>
      t.db.all<any>(`SELECT org_id, created_at / ${DAY} AS day, repo_id, agent_type, count(*) AS executions, ${count('pass')}, ${count('warn')}, ${count('fail')}, round(CAST(sum(coverage) AS NUMERIC), 6) AS s FROM executions GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`)
    for (let i = 0; i < 120; i++) {
      t.clock.advance(DAY)
      await Promise.all([submit(t, token, { repo: `r${i % 3}`, coverage: i % 100, delta: -(i % 3) }), submit(t, claude.secret, { repo: 'r0', coverage: 50.25 })])
    }
    expect(await snapshot()).toEqual(await recomputed())
    const swept = await sweepRetention(t.db, t.clock.now(), 7)
    expect(swept.executions).toBe(2 * 29) // two runs on each of days 1-120; the team plan keeps those newer than day 30

    expect(await snapshot()).toEqual(await recomputed())
    const fresh = await signIn(t, 'acme') // the first session expired during the 120 simulated days
    const report = (await t.request('GET', '/v1/analytics?days=365', { token: fresh.session })).json
    expect(report.totals.executions).toBe(((await t.db.get<any>('SELECT count(*) AS n FROM executions')) as any).n)
  })

  test.each(['0', '366', 'x'])('days=%p answers 400', async (days) => {
    const t = makeTestApp()
    const { session } = await signIn(t, 'acme', { plan: 'enterprise' })
    const res = await t.request('GET', `/v1/analytics?days=${days}`, { token: session })
    expect([res.status, res.json]).toEqual([400, { error: 'invalid query: days must be an integer from 1 to 365' }])
  })
})
