import { describe, expect, test } from 'bun:test'
import { encodeCursor, formatDelta, outcomeFor } from '../src/modules/executions/format'
import { createListCache } from '../src/modules/executions/list-cache'
import { sweepRetention } from '../src/modules/retention/service'
import { makeTestApp, type TestApp } from './helpers/app'
import { counterMatches, countStatements, createToken, orgWithToken, setPlan, signIn, submit, metric } from './helpers/fixtures'
import { onPostgres } from './helpers/db'
import type { SqliteDb } from '../src/db/client'
import { createRepoChanges, REPO_FRESH_MS } from '../src/modules/executions/repo-changes'
import { run } from '../src/db/work'
import { EXPORT_PAGE } from '../src/modules/executions/service'


const DAY = 86_400_000

describe('POST /v1/executions', () => {
  test('records a run and answers 201 with the list shape plus the extra fields', async () => {
    const t = makeTestApp()
    const { token, tokenId } = await orgWithToken(t, 'acme', { agent_type: 'claude_code' })
    const res = await submit(t, token, { repo: 'api-service', branch: 'main', coverage: 82.3, baseline: 80, commit: 'a'.repeat(40), timestamp: '2026-03-18T08:59:00Z' })
    expect(res.status).toBe(201)
    expect(res.json).toEqual({
      id: expect.stringMatching(/^exe_[0-9a-z]{26}$/),
      repo: 'api-service',
      branch: 'main',
      outcome: 'pass',
      delta: '+2.30',
      created_at: '2026-03-18T09:00:00Z',
      coverage: 82.3,
      baseline: 80,
      commit: 'a'.repeat(40),
      warn_threshold: 0.5,
      fail_threshold: 1,
      strict_mode: false,
      agent_type: 'claude_code',
      // The body's timestamp is kept as the run's ran_at, never dropped.
      ran_at: '2026-03-18T08:59:00Z',
    })
    const row = (await t.db.get<any>('SELECT agent_type, token_id, delta, run_at FROM executions')) as any
    expect({ ...row, run_at: Number(row.run_at) }).toEqual({ agent_type: 'claude_code', token_id: tokenId, delta: 2.3, run_at: Date.parse('2026-03-18T08:59:00Z') })
    expect((await submit(t, token, { repo: 'api-service', branch: 'main', coverage: 80 })).json.ran_at).toBeNull()
  })

  test.each([
    // delta, warn, fail, expected — boundaries exactly as written: pass if delta > -warn, warn if delta > -fail
    [0, 0.5, 1, 'pass'],
    [-0.49, 0.5, 1, 'pass'],
    [-0.5, 0.5, 1, 'warn'],
    [-0.99, 0.5, 1, 'warn'],
    [-1, 0.5, 1, 'fail'],
    [-3, 0.5, 1, 'fail'],
    [-0.2, 0, 1, 'warn'],
    [0, 0, 0, 'fail'], // zero thresholds: no drop at all is tolerated, and 0 > -0 is false
  ])('delta %p with warn %p and fail %p is %p', async (delta, warn, fail, expected) => {
    expect(outcomeFor(delta, warn, fail)).toBe(expected as any)
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const res = await submit(t, token, { coverage: 50, baseline: undefined, delta, warn_threshold: warn, fail_threshold: fail })
    expect(res.json.outcome).toBe(expected)
  })

  test('delta defaults to coverage - baseline without floating-point noise at the boundary', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const res = await submit(t, token, { coverage: 80.1, baseline: 80.6 })
    expect(res.json.delta).toBe('-0.50')
    expect(res.json.outcome).toBe('warn')
    const exact = await submit(t, token, { coverage: 79, baseline: 80 })
    expect(exact.json.outcome).toBe('fail')
  })

  test('an outcome sent by the CLI is kept (strict mode decides on the client)', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const res = await submit(t, token, { coverage: 80, baseline: 80, outcome: 'fail', strict_mode: true })
    expect(res.json.outcome).toBe('fail')
    expect(res.json.strict_mode).toBe(true)
  })

  test.each([
    ...[undefined, 'x'.repeat(101), 'a/b/c/d/e/f', '.', '..', 'svc/..', 'svc ', 'svc\u200b', 'svc\u0000', 'аpi', 'a//b', '/a', 'a/', ''].map(
      (repo) => [{ repo }, 'invalid body: repo must be 1-5 "/"-separated parts of A-Z, a-z, 0-9, ".", "_", "-" (1-100 characters each, none "." or "..")'] as [Record<string, unknown>, string],
    ),
    [{ branch: '' }, 'invalid body: branch must be a string of 1-255 characters'],
    [{ coverage: 100.01 }, 'invalid body: coverage must be a number from 0 to 100'],
    [{ coverage: -1 }, 'invalid body: coverage must be a number from 0 to 100'],
    [{ coverage: '80' }, 'invalid body: coverage must be a number from 0 to 100'],
    [{ baseline: 101 }, 'invalid body: baseline must be a number from 0 to 100'],
    [{ outcome: 'ok' }, 'invalid body: outcome must be one of pass, warn, fail'],
    [{ commit: 'xyz' }, 'invalid body: commit must be 7-64 hex characters'],
    [{ timestamp: 'yesterday' }, 'invalid body: timestamp must be an ISO 8601 date-time'],
  ])('%p answers 400 %p and records nothing', async (patch, message) => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const res = await submit(t, token, patch)
    expect(res.status).toBe(400)
    expect(res.json).toEqual({ error: message })
    expect((await t.db.get<any>('SELECT count(*) AS n FROM executions'))).toEqual({ n: 0 })
    expect((await t.db.get<any>('SELECT count(*) AS n FROM repositories'))).toEqual({ n: 0 })
  })

  test('a read-only token or a session cannot submit (403); no token is 401', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t, 'acme', { scopes: ['read'] })
    expect((await submit(t, token, {})).status).toBe(403)
    expect((await submit(t, session, {})).status).toBe(403)
    const none = await t.request('POST', '/v1/executions', { body: { repo: 'r', branch: 'b', coverage: 1 } })
    expect(none.status).toBe(401)
    expect(none.json).toEqual({ error: 'invalid token' })
  })

  test('the same Idempotency-Key returns the first answer and records once', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const first = await submit(t, token, { coverage: 81 }, { 'idempotency-key': 'run-123' })
    const again = await submit(t, token, { coverage: 81 }, { 'idempotency-key': 'run-123' })
    expect(again.status).toBe(201)
    expect(again.json).toEqual(first.json)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect((await t.db.get<any>('SELECT count(*) AS n FROM executions'))).toEqual({ n: 1 })
    const other = await submit(t, token, { coverage: 82 }, { 'idempotency-key': 'run-123' })
    expect(other.status).toBe(422)
    expect(other.json).toEqual({ error: 'Idempotency-Key was already used with a different request body' })
    expect((await counterMatches(t))).toBe(true)
    expect((await t.request('GET', '/v1/executions?org=acme&repo=api-service', { token })).json.total).toBe(1)
  })

  test('repository cap: the 11th repository on free answers 402 with the exact message', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t, 'acme', { plan: 'free' })
    for (let i = 1; i <= 10; i++) expect((await submit(t, token, { repo: `repo-${i}` })).status).toBe(201)
    const refused = await submit(t, token, { repo: 'repo-11' })
    expect(refused.status).toBe(402)
    expect(refused.json).toEqual({ error: 'repository limit reached for your plan (10/10 repos used)' })
    expect((await submit(t, token, { repo: 'repo-3' })).status).toBe(201)
    expect((await t.db.get<any>('SELECT count(*) AS n FROM repositories'))).toEqual({ n: 10 })
  })

  test('after a downgrade the newest repositories beyond the cap are refused but keep their history', async () => {
    const t = makeTestApp()
    const { token, orgId } = await orgWithToken(t, 'acme', { plan: 'team' })
    for (let i = 1; i <= 12; i++) {
      t.clock.advance(1000)
      await submit(t, token, { repo: `repo-${i}` })
    }
    await setPlan(t, orgId, 'free')
    expect((await submit(t, token, { repo: 'repo-10' })).status).toBe(201)
    const refused = await submit(t, token, { repo: 'repo-11' })
    expect(refused.status).toBe(402)
    expect(refused.json).toEqual({ error: 'repository limit reached for your plan (12/10 repos used)' })
    expect((await submit(t, token, { repo: 'repo-12' })).status).toBe(402)
    const history = await t.request('GET', '/v1/executions?org=acme&repo=repo-12', { token })
    expect(history.json.total).toBe(1)
    await setPlan(t, orgId, 'team')
    expect((await submit(t, token, { repo: 'repo-12' })).status).toBe(201)
  })
})

describe('POST /v1/executions on a full database', () => {
  /** Makes every new write of a run fail the way a full disk does on this backend (SQLITE_FULL, SQLSTATE 53100), and undoes it. */
  async function fillUp(t: TestApp): Promise<() => Promise<void>> {
    if (onPostgres) {
      await t.db.run(`CREATE FUNCTION disk_full() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$ LANGUAGE plpgsql`)
      await t.db.run('CREATE TRIGGER disk_full BEFORE INSERT ON executions FOR EACH ROW EXECUTE FUNCTION disk_full()')
      return async () => void (await t.db.run('DROP TRIGGER disk_full ON executions'))
    }
    const sqlite = (t.db as SqliteDb).sqlite
    const pages = (sqlite.query('PRAGMA page_count').get() as { page_count: number }).page_count
    sqlite.exec(`PRAGMA max_page_count = ${pages}`)
    return async () => void sqlite.exec('PRAGMA max_page_count = 1073741823')
  }

  test('a full disk answers 503 with Retry-After; what was acknowledged stays, nothing is half-written, a retry succeeds', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    expect((await submit(t, token, { coverage: 81 })).status).toBe(201)
    const free = await fillUp(t)
    let refused: Awaited<ReturnType<typeof submit>> | undefined
    let acknowledged = 1
    for (let i = 0; i < 500 && !refused; i++) {
      const res = await submit(t, token, { coverage: 70, commit: 'a'.repeat(40) }, { 'idempotency-key': `full-${i}` })
      if (res.status === 201) acknowledged++
      else refused = res
    }
    expect([refused?.status, refused?.json, refused?.headers.get('retry-after')]).toEqual([503, { error: 'database storage full: try again later' }, '30'])
    expect(t.logger.lines.some((l) => l.includes('database storage full'))).toBe(true)
    const count = async () => (await t.db.get<{ n: number }>('SELECT count(*) AS n FROM executions'))!.n
    expect(await count()).toBe(acknowledged)
    expect(await counterMatches(t)).toBe(true)
    await free()
    const retried = await submit(t, token, { coverage: 70, commit: 'a'.repeat(40) }, { 'idempotency-key': `full-${acknowledged - 1}` })
    expect(retried.status).toBe(201)
    expect(await count()).toBe(acknowledged + 1)
    expect(await counterMatches(t)).toBe(true)
  })
})

describe('GET /v1/executions', () => {
  test('newest first with the exact contract shape, total from the counter', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await submit(t, token, { branch: 'main', coverage: 82.3, baseline: 80 })
    t.clock.advance(60_000)
    await submit(t, token, { branch: 'feat/auth', coverage: 79.6, baseline: 80 })
    const res = await t.request('GET', '/v1/executions?org=acme&repo=api-service&limit=10', { token })
    expect(res.status).toBe(200)
    expect(res.json.total).toBe(2)
    expect(res.json.next_cursor).toBeNull()
    expect(res.json.executions.map((e: any) => [e.branch, e.outcome, e.delta, e.created_at])).toEqual([
      ['feat/auth', 'pass', '-0.40', '2026-03-18T09:01:00Z'],
      ['main', 'pass', '+2.30', '2026-03-18T09:00:00Z'],
    ])
  })

  test.each([
    [2.3, '+2.30'],
    [-0.4, '-0.40'],
    [0, '0.00'],
    [-0, '0.00'],
    [-0.004, '0.00'],
    [0.004, '0.00'],
    [0.005, '+0.01'],
    [-12.345, '-12.35'],
  ])('delta %p is formatted %p', (delta, text) => {
    expect(formatDelta(delta)).toBe(text)
  })

  test('the three exact errors, and 200 empty for an unknown repo of your own org', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await signIn(t, 'other')
    expect((await t.request('GET', '/v1/executions?repo=x', { token })).json).toEqual({ error: 'missing required parameter: org' })
    expect((await t.request('GET', '/v1/executions?org=acme', { token })).json).toEqual({ error: 'missing required parameter: repo' })
    const bad = await t.request('GET', '/v1/executions?org=acme&repo=x', { token: 'nlp_' + 'f'.repeat(40) })
    expect([bad.status, bad.json]).toEqual([401, { error: 'invalid token' }])
    const other = await t.request('GET', '/v1/executions?org=other&repo=x', { token })
    expect([other.status, other.json]).toEqual([403, { error: 'forbidden' }])
    const empty = await t.request('GET', '/v1/executions?org=acme&repo=not-yet', { token })
    expect([empty.status, empty.json]).toEqual([200, { executions: [], total: 0, next_cursor: null }])
  })

  test.each(['0', '101', 'ten', '1.5', '-1'])('limit=%p answers 400', async (limit) => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const res = await t.request('GET', `/v1/executions?org=acme&repo=r&limit=${limit}`, { token })
    expect(res.status).toBe(400)
    expect(res.json).toEqual({ error: 'invalid query: limit must be an integer from 1 to 100' })
  })

  test('readable by an execute token, a read token and a session of the org', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t)
    const reader = await createToken(t, session, { scopes: ['read'] })
    await submit(t, token, {})
    for (const credential of [token, reader.secret, session]) {
      const res = await t.request('GET', '/v1/executions?org=acme&repo=api-service', { token: credential })
      expect(res.status).toBe(200)
      expect(res.json.total).toBe(1)
    }
  })

  test('cached pages are bounded by bytes: 2,000 distinct cursors of 100 long runs stay under 8 MiB, and pages stay right', async () => {
    const t = makeTestApp()
    const { token, orgId } = await orgWithToken(t, 'acme', { plan: 'enterprise' })
    const branch = 'b'.repeat(255)
    const ids: string[] = []
    for (let i = 0; i < 120; i++) ids.push((await submit(t, token, { branch, coverage: i % 100, commit: 'c'.repeat(40) })).json.id)
    const lists = createListCache(t.db, createRepoChanges(t.clock))
    for (let limit = 81; limit <= 100; limit++)
      for (let start = 20; start < 120; start++) {
        const json = await lists.listJson(orgId, 'api-service', { limit, cursor: encodeCursor(ids[start]!) })
        if (limit === 100 && start === 119) expect(JSON.parse(json).executions.map((e: any) => e.id)).toEqual(ids.slice(19, 119).reverse())
      }
    expect(lists.bytes()).toBeLessThanOrEqual(8 * 1024 * 1024)
    expect(lists.bytes()).toBeGreaterThan(4 * 1024 * 1024)
  })

  test('a cached page costs no statement; a run recorded here is on the very next page (read-your-writes)', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await submit(t, token, { coverage: 70 })
    const statements = countStatements(t)
    const list = async () => (await t.request('GET', '/v1/executions?org=acme&repo=api-service', { token })).json
    expect((await list()).total).toBe(1)
    const first = statements.n
    expect(first).toBeGreaterThan(0)
    for (let i = 0; i < 5; i++) expect((await list()).total).toBe(1)
    expect(statements.n).toBe(first)
    const run = (await submit(t, token, { coverage: 71 })).json
    const page = await list()
    expect([page.total, page.executions[0].id]).toEqual([2, run.id])
  })

  test('a change nobody announces (an operator deleting a run by SQL) shows within REPO_FRESH_MS, by the clock', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await submit(t, token, { coverage: 70 + i })).json.id)
    const list = async () => (await t.request('GET', '/v1/executions?org=acme&repo=api-service', { token })).json
    expect((await list()).total).toBe(3)
    await t.db.tx(
      (function* () {
        yield* run('DELETE FROM executions WHERE id = ?', [ids[2]!])
        yield* run('UPDATE repositories SET execution_count = execution_count - 1, version = version + 1', [])
      })(),
    )
    t.clock.advance(REPO_FRESH_MS - 1)
    expect((await list()).total).toBe(3)
    t.clock.advance(1)
    const page = await list()
    expect([page.total, page.executions.map((e: any) => e.id)]).toEqual([2, [ids[1], ids[0]]])
  })

  test('cursor pagination walks several hundred runs with no duplicate or gap', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const ids: string[] = []
    for (let i = 0; i < 350; i++) {
      if (i % 7 === 0) t.clock.advance(1000) // several runs share a second, some a millisecond
      ids.push((await submit(t, token, { coverage: i % 100, branch: i % 2 ? 'main' : 'dev' })).json.id)
    }
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = cursor ? `&cursor=${cursor}` : ''
      const res = await t.request('GET', `/v1/executions?org=acme&repo=api-service&limit=100${query}`, { token })
      expect(res.json.total).toBe(350)
      seen.push(...res.json.executions.map((e: any) => e.id))
      cursor = res.json.next_cursor
      pages++
    } while (cursor)
    expect(pages).toBe(4)
    expect(seen).toEqual([...ids].reverse())
    const main: string[] = []
    cursor = null
    do {
      const query: string = cursor ? `&cursor=${cursor}` : ''
      const res = await t.request('GET', `/v1/executions?org=acme&repo=api-service&branch=main&limit=33${query}`, { token })
      main.push(...res.json.executions.map((e: any) => e.id))
      cursor = res.json.next_cursor
    } while (cursor)
    expect(main).toEqual(ids.filter((_, i) => i % 2).reverse())
    const bad = await t.request('GET', '/v1/executions?org=acme&repo=api-service&cursor=bm9wZQ', { token })
    expect(bad.status).toBe(400)
  })
})

describe('GET /v1/executions: time windows, order and commit', () => {
  /** Six runs an hour apart, alternating main and dev, each with its own commit. */
  async function history() {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const runs: { id: string; created_at: string; branch: string; commit: string }[] = []
    for (let i = 0; i < 6; i++) {
      const commit = `${i}`.repeat(40)
      const branch = i % 2 ? 'dev' : 'main'
      runs.push({ ...(await submit(t, token, { coverage: 70 + i, branch, commit })).json, branch, commit })
      t.clock.advance(3_600_000)
    }
    const list = async (query: string) => t.request('GET', `/v1/executions?org=acme&repo=api-service${query}`, { token })
    return { t, runs, list }
  }
  const ids = (res: { json: any }) => res.json.executions.map((e: any) => e.id)

  test('since is inclusive, until exclusive, by created_at; total stays the repository\'s', async () => {
    const { runs, list } = await history()
    const res = await list(`&since=${runs[1]!.created_at}&until=${runs[4]!.created_at}`)
    expect(res.status).toBe(200)
    expect(ids(res)).toEqual([runs[3]!.id, runs[2]!.id, runs[1]!.id])
    expect(res.json.total).toBe(6)
    expect(ids(await list('&since=2026-03-18T11:30:00Z'))).toEqual([5, 4, 3].map((i) => runs[i]!.id))
    expect(ids(await list('&until=2026-03-18T11:30:00Z'))).toEqual([2, 1, 0].map((i) => runs[i]!.id))
    expect(ids(await list('&since=2027-01-01T00:00:00Z'))).toEqual([])
    // Any ISO 8601 offset names the same instant.
    expect(ids(await list('&since=2026-03-18T12:00:00%2B02:00&until=2026-03-18T11:00:00Z'))).toEqual([runs[1]!.id])
  })

  test('order=asc walks oldest first; a cursor continues in its own order, inside the window, on a branch', async () => {
    const { runs, list } = await history()
    const first = await list('&order=asc&limit=2')
    expect(ids(first)).toEqual([runs[0]!.id, runs[1]!.id])
    const second = await list(`&order=asc&limit=2&cursor=${first.json.next_cursor}`)
    expect(ids(second)).toEqual([runs[2]!.id, runs[3]!.id])
    const main = await list(`&order=asc&branch=main&limit=1&since=${runs[1]!.created_at}`)
    expect(ids(main)).toEqual([runs[2]!.id])
    expect(ids(await list(`&order=asc&branch=main&limit=1&since=${runs[1]!.created_at}&cursor=${main.json.next_cursor}`))).toEqual([runs[4]!.id])
    const desc = await list(`&limit=2&until=${runs[5]!.created_at}`)
    expect(ids(desc)).toEqual([runs[4]!.id, runs[3]!.id])
    const next = await list(`&limit=2&until=${runs[5]!.created_at}&cursor=${desc.json.next_cursor}`)
    expect([ids(next), next.json.next_cursor !== null]).toEqual([[runs[2]!.id, runs[1]!.id], true])
  })

  test('commit= finds the runs of one commit exactly, with or without a branch', async () => {
    const { runs, list } = await history()
    expect(ids(await list(`&commit=${runs[3]!.commit}`))).toEqual([runs[3]!.id])
    expect(ids(await list(`&commit=${runs[3]!.commit}&branch=dev`))).toEqual([runs[3]!.id])
    expect(ids(await list(`&commit=${runs[3]!.commit}&branch=main`))).toEqual([])
    expect(ids(await list('&commit=abcdef0'))).toEqual([])
  })

  test.each([
    ['&since=yesterday', 'invalid query: since must be an ISO 8601 date-time'],
    ['&until=2026-13-01T00:00:00Z', 'invalid query: until must be an ISO 8601 date-time'],
    ['&order=newest', 'invalid query: order must be asc or desc'],
    ['&commit=xyz', 'invalid query: commit must be 7-64 hex characters'],
    ['&since=2026-03-19T00:00:00Z&until=2026-03-18T00:00:00Z', 'invalid query: until must not be before since'],
  ])('%s answers 400 naming the parameter', async (query, error) => {
    const { list } = await history()
    const res = await list(query)
    expect([res.status, res.json]).toEqual([400, { error }])
  })
})

describe('GET /v1/executions/export', () => {
  test('CSV: a header row, every run oldest first, RFC 4180 quoting, as an attachment', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const a = (await submit(t, token, { branch: 'main', coverage: 82.3, baseline: 80, commit: 'a'.repeat(40) })).json
    t.clock.advance(60_000)
    const b = (await submit(t, token, { branch: 'feat, "quoted"\nline', coverage: 79.6, baseline: 80 })).json
    const res = await t.request('GET', '/v1/executions/export?org=acme&repo=api-service&format=csv', { token })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present')
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="acme-api-service-executions.csv"; filename*=UTF-8''acme-api-service-executions.csv`)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('x-request-id')).toBeTruthy()
    expect(res.text).toBe(
      'id,repo,branch,outcome,delta,coverage,baseline,commit,created_at\r\n' +
        `${a.id},api-service,main,pass,2.3,82.3,80,${'a'.repeat(40)},2026-03-18T09:00:00Z\r\n` +
        `${b.id},api-service,"feat, ""quoted""\nline",pass,-0.4,79.6,80,,2026-03-18T09:01:00Z\r\n`,
    )
  })

  test('CSV cells that start like a formula are text; numbers are left alone', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    for (const branch of ['=HYPERLINK("http://x","y")', '+cmd', '-2+3', '@SUM(A1)', 'main']) await submit(t, token, { branch, coverage: 50, baseline: 60 })
    const res = await t.request('GET', '/v1/executions/export?org=acme&repo=api-service', { token })
    const branches = res.text.trim().split('\r\n').slice(1).map((line: string) => line.split(',')[2])
    expect(branches).toEqual(['"\'=HYPERLINK(""http://x""', "'+cmd", "'-2+3", "'@SUM(A1)", 'main'])
    // The delta of -10 stays a number a spreadsheet adds up.
    expect(res.text.split('\r\n')[5]!.split(',')).toContain('-10')
  })

  test('NDJSON: one run per line in the list\'s shape; since, until and branch apply', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    for (let i = 0; i < 4; i++) {
      await submit(t, token, { branch: i % 2 ? 'dev' : 'main', coverage: 70 + i })
      t.clock.advance(3_600_000)
    }
    const listed = (await t.request('GET', '/v1/executions?org=acme&repo=api-service&order=asc', { token })).json.executions
    const all = await t.request('GET', '/v1/executions/export?org=acme&repo=api-service&format=ndjson', { token })
    expect(all.headers.get('content-type')).toBe('application/x-ndjson')
    expect(all.headers.get('content-disposition')).toContain('filename="acme-api-service-executions.ndjson"')
    expect(all.text.endsWith('\n')).toBe(true)
    expect(all.text.trim().split('\n').map((line: string) => JSON.parse(line))).toEqual(listed)
    const window = await t.request('GET', '/v1/executions/export?org=acme&repo=api-service&format=ndjson&branch=main&since=2026-03-18T10:00:00Z&until=2026-03-18T12:00:01Z', { token })
    expect(window.text.trim().split('\n').map((line: string) => JSON.parse(line).id)).toEqual([listed[2].id])
  })

  test('a history longer than a page streams whole, in order, with no run twice', async () => {
    const t = makeTestApp({}, {})
    const { token } = await orgWithToken(t, 'acme', { plan: 'enterprise' })
    const ids: string[] = []
    for (let i = 0; i < EXPORT_PAGE + 150; i++) ids.push((await submit(t, token, { coverage: i % 100 })).json.id)
    const res = await t.request('GET', '/v1/executions/export?org=acme&repo=api-service&format=ndjson', { token })
    expect(res.text.trim().split('\n').map((line: string) => JSON.parse(line).id)).toEqual(ids)
  }, 30_000)

  test('an unknown repository of your own organisation is an empty export; another organisation is 403; no token 401; a bad format 400', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const other = await orgWithToken(t, 'other')
    expect((await t.request('GET', '/v1/executions/export?org=acme&repo=nope', { token })).text).toBe('id,repo,branch,outcome,delta,coverage,baseline,commit,created_at\r\n')
    expect((await t.request('GET', '/v1/executions/export?org=acme&repo=nope&format=ndjson', { token })).text).toBe('')
    expect([(await t.request('GET', '/v1/executions/export?org=acme&repo=api-service', { token: other.token })).status]).toEqual([403])
    expect((await t.request('GET', '/v1/executions/export?org=acme&repo=api-service')).status).toBe(401)
    const bad = await t.request('GET', '/v1/executions/export?org=acme&repo=api-service&format=xlsx', { token })
    expect([bad.status, bad.json]).toEqual([400, { error: 'invalid query: format must be csv or ndjson' }])
    const missing = await t.request('GET', '/v1/executions/export?org=acme', { token })
    expect([missing.status, missing.json]).toEqual([400, { error: 'missing required parameter: repo' }])
  })
})

describe('retention and counters', () => {
  test('the sweep deletes runs older than the plan window and keeps the counter exact', async () => {
    const t = makeTestApp()
    const free = await orgWithToken(t, 'free-org', { plan: 'free' })
    const team = await orgWithToken(t, 'team-org', { plan: 'team' })
    for (let day = 0; day < 100; day++) {
      await submit(t, free.token, { coverage: 50 })
      await submit(t, team.token, { coverage: 50 })
      t.clock.advance(DAY)
    }
    // now = start + 100 days: free keeps the last 30 days, team the last 90
    const result = await sweepRetention(t.db, t.clock.now(), 7)
    expect(result.executions).toBe(70 + 10)
    expect((await counterMatches(t))).toBe(true)
    expect((await t.request('GET', '/v1/executions?org=free-org&repo=api-service', { token: free.token })).json.total).toBe(30)
    expect((await t.request('GET', '/v1/executions?org=team-org&repo=api-service', { token: team.token })).json.total).toBe(90)
    expect((await sweepRetention(t.db, t.clock.now())).executions).toBe(0)
  })

  test('the counter equals the row count through inserts, replays and sweeps', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    for (let i = 0; i < 20; i++) {
      await submit(t, token, { repo: `r${i % 3}` }, { 'idempotency-key': `k${i % 12}` })
      expect((await counterMatches(t))).toBe(true)
    }
    t.clock.advance(91 * DAY)
    await sweepRetention(t.db, t.clock.now(), 5)
    expect((await counterMatches(t))).toBe(true)
    expect((await t.db.get<any>('SELECT count(*) AS n FROM executions'))).toEqual({ n: 0 })
    expect((await t.db.get<any>('SELECT count(*) AS n FROM idempotency_keys'))).toEqual({ n: 0 })
  })
})

describe('GET /v1/executions/stream', () => {
  async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, needle: string): Promise<string> {
    let text = ''
    const decoder = new TextDecoder()
    while (!text.includes(needle)) {
      const { value, done } = await reader.read()
      if (done) break
      text += decoder.decode(value)
    }
    return text
  }

  test('delivers a run submitted after the stream opened, then releases everything on disconnect', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await submit(t, token, { coverage: 10 })
    const res = await t.app.handle(new Request('http://localhost/v1/executions/stream?org=acme&repo=api-service', { headers: { authorization: `Bearer ${token}` } }))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const reader = res.body!.getReader()
    await readUntil(reader, ': connected')
    expect((await metric(t, 'nolapse_event_stream_subscriptions'))).toBe(1)
    const posted = await submit(t, token, { coverage: 77.7 })
    const text = await readUntil(reader, '77.7')
    expect(text).toContain(`event: execution\nid: ${posted.json.id}\ndata: `)
    const data = JSON.parse(text.split('data: ')[1]!.split('\n')[0]!)
    expect(data).toMatchObject({ id: posted.json.id, coverage: 77.7, repo: 'api-service' })
    expect(text).not.toContain('"coverage":10')
    await reader.cancel()
    expect((await metric(t, 'nolapse_event_stream_subscriptions'))).toBe(0)
  })

  test('a stream opened before the repository exists delivers its first run (the onboarding wizard)', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const res = await t.app.handle(new Request('http://localhost/v1/executions/stream?org=acme&repo=brand-new', { headers: { authorization: `Bearer ${token}` } }))
    const reader = res.body!.getReader()
    await readUntil(reader, ': connected')
    const first = await submit(t, token, { repo: 'brand-new', coverage: 64.2 })
    const text = await readUntil(reader, first.json.id)
    expect(text).toContain(`event: execution\nid: ${first.json.id}\n`)
    await reader.cancel()
    expect((await metric(t, 'nolapse_event_stream_subscriptions'))).toBe(0)
  })

  test('Last-Event-ID replays what was missed', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    const first = await submit(t, token, { coverage: 1 })
    const second = await submit(t, token, { coverage: 2 })
    const third = await submit(t, token, { coverage: 3 })
    const res = await t.app.handle(
      new Request('http://localhost/v1/executions/stream?org=acme&repo=api-service', { headers: { authorization: `Bearer ${token}`, 'last-event-id': first.json.id } }),
    )
    const reader = res.body!.getReader()
    const text = await readUntil(reader, third.json.id)
    expect(text.indexOf(second.json.id)).toBeLessThan(text.indexOf(third.json.id))
    expect(text).not.toContain(`id: ${first.json.id}`)
    await reader.cancel()
  })

  test('the stream follows the same auth rules as the list', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await signIn(t, 'other')
    expect((await t.request('GET', '/v1/executions/stream?org=acme&repo=x')).status).toBe(401)
    expect((await t.request('GET', '/v1/executions/stream?org=other&repo=x', { token })).status).toBe(403)
    expect((await t.request('GET', '/v1/executions/stream?org=acme', { token })).json).toEqual({ error: 'missing required parameter: repo' })
  })
})
