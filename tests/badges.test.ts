import { describe, expect, test } from 'bun:test'
import { Resvg } from '@resvg/resvg-js'
import { colourFor, shownPercent } from '../src/modules/badges/render'
import { THEMES, trendColour, trendTree } from '../src/modules/badges/trend'
import { makeTestApp } from './helpers/app'
import { countStatements, createToken, orgWithToken, signIn, submit, metric } from './helpers/fixtures'

const GREEN = '#4c1'
const YELLOW = '#dfb317'
const RED = '#e05d44'
const GREY = '#9f9f9f'
/** satori writes colours as `fill="#4c1"`; the badge's message box is the only box in its colour. */
const hasFill = (svg: string, colour: string) => svg.includes(`fill="${colour}"`)

function png(svg: string) {
  return new Resvg(svg).render()
}

describe('GET /v1/badge/{org}/{repo}', () => {
  test('renders the latest coverage with the contract headers and accessible text', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await submit(t, token, { coverage: 84.4 })
    const res = await t.request('GET', '/v1/badge/acme/api-service')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/svg+xml')
    expect(res.headers.get('cache-control')).toBe('public, max-age=60')
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('etag')).toMatch(/^"[A-Za-z0-9_-]+"$/)
    expect(res.text).toStartWith('<svg role="img" aria-label="coverage: 84%" ')
    expect(res.text).toContain('<title>coverage: 84%</title>')
    expect(hasFill(res.text, GREEN)).toBe(true)
    const image = png(res.text)
    expect(image.height).toBe(20)
    expect(image.width).toBeGreaterThan(60)
    expect(image.width).toBeLessThan(160)
    expect(image.asPng().byteLength).toBeGreaterThan(300)
  })

  test.each([
    [59.4, '59%', RED],
    [59.5, '60%', YELLOW],
    [60, '60%', YELLOW],
    [79.4, '79%', YELLOW],
    [79.5, '80%', GREEN],
    [80, '80%', GREEN],
    [100, '100%', GREEN],
    [0, '0%', RED],
  ])('coverage %p shows %p in %p', async (coverage, message, colour) => {
    expect(colourFor(shownPercent(coverage))).toBe(colour)
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await submit(t, token, { coverage })
    const res = await t.request('GET', '/v1/badge/acme/api-service')
    expect(res.text).toContain(`aria-label="coverage: ${message}"`)
    expect(hasFill(res.text, colour)).toBe(true)
  })

  test('no data, unknown org and unknown repo: grey unknown with status 200', async () => {
    const t = makeTestApp()
    await signIn(t, 'acme')
    for (const path of ['/v1/badge/acme/no-runs', '/v1/badge/nobody/api-service', '/v1/badge/acme/nope']) {
      const res = await t.request('GET', path)
      expect(res.status).toBe(200)
      expect(res.text).toContain('aria-label="coverage: unknown"')
      expect(hasFill(res.text, GREY)).toBe(true)
    }
  })

  test('the default branch wins, else the latest on any branch; ?branch= chooses', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t)
    await submit(t, token, { branch: 'feature', coverage: 40 })
    expect((await t.request('GET', '/v1/badge/acme/api-service')).text).toContain('coverage: 40%')
    await submit(t, token, { branch: 'main', coverage: 90 })
    await submit(t, token, { branch: 'feature', coverage: 41 })
    expect((await t.request('GET', '/v1/badge/acme/api-service')).text).toContain('coverage: 90%')
    expect((await t.request('GET', '/v1/badge/acme/api-service?branch=feature')).text).toContain('coverage: 41%')
    expect((await t.request('GET', '/v1/badge/acme/api-service?branch=none')).text).toContain('coverage: unknown')
    await t.request('PATCH', '/v1/repos/api-service', { token: session, body: { default_branch: 'feature' } })
    expect((await t.request('GET', '/v1/badge/acme/api-service')).text).toContain('coverage: 41%')
  })

  test('a private repository shows unknown unless ?token= is a badge or read token of its org (never execute-only)', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t)
    const reader = await createToken(t, session, { scopes: ['read'] })
    const badge = await createToken(t, session, { scopes: ['badge'] })
    const stranger = await orgWithToken(t, 'other', { scopes: ['badge'] })
    await submit(t, token, { coverage: 88 })
    await t.request('PATCH', '/v1/repos/api-service', { token: session, body: { private: true } })
    expect((await t.request('GET', '/v1/badge/acme/api-service')).text).toContain('coverage: unknown')
    expect((await t.request('GET', `/v1/badge/acme/api-service?token=${stranger.token}`)).text).toContain('coverage: unknown')
    expect((await t.request('GET', '/v1/badge/acme/api-service?token=nlp_garbage')).text).toContain('coverage: unknown')
    expect((await t.request('GET', `/v1/badge/acme/api-service?token=${reader.secret}`)).text).toContain('coverage: 88%')
    expect((await t.request('GET', `/v1/badge/acme/api-service?token=${badge.secret}`)).text).toContain('coverage: 88%')
    // An execute-only token is a CI credential: it never unlocks a badge URL, which every reader and proxy sees.
    expect((await t.request('GET', `/v1/badge/acme/api-service?token=${token}`)).text).toContain('coverage: unknown')
    const reasons = (await t.db.all<{ metadata: string }>("SELECT metadata FROM audit_events WHERE action = 'auth.denied' ORDER BY id")).map((row) => ({ reason: JSON.parse(row.metadata).reason }))
    expect(reasons).toEqual([{ reason: 'other_organisation' }, { reason: 'invalid_token' }, { reason: 'insufficient_scope' }])
    await t.request('DELETE', `/v1/tokens/${reader.id}`, { token: session })
    expect((await t.request('GET', `/v1/badge/acme/api-service?token=${reader.secret}`)).text).toContain('coverage: unknown')
    await new Promise((resolve) => setImmediate(resolve))
    expect(t.logger.lines.join('\n')).not.toContain(token)
  })

  test('a hot badge costs no statement; a run recorded or the repository made private here shows on the very next view', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t)
    await submit(t, token, { coverage: 70 })
    const badge = async () => (await t.request('GET', '/v1/badge/acme/api-service')).text
    expect(await badge()).toContain('coverage: 70%')
    const statements = countStatements(t)
    for (let i = 0; i < 5; i++) expect(await badge()).toContain('coverage: 70%')
    expect(statements.n).toBe(0)
    await submit(t, token, { coverage: 91 })
    expect(await badge()).toContain('coverage: 91%')
    await t.request('PATCH', '/v1/repos/api-service', { token: session, body: { private: true } })
    expect(await badge()).toContain('coverage: unknown')
  })

  test('ETag: a matching If-None-Match answers 304 with no body', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await submit(t, token, { coverage: 70 })
    const first = await t.request('GET', '/v1/badge/acme/api-service')
    const etag = first.headers.get('etag')!
    const again = await t.request('GET', '/v1/badge/acme/api-service', { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    expect(again.text).toBe('')
    expect(again.headers.get('etag')).toBe(etag)
    expect((await t.request('GET', '/v1/badge/acme/api-service', { headers: { 'if-none-match': `"other", ${etag}` } })).status).toBe(304)
    expect((await t.request('GET', '/v1/badge/acme/api-service', { headers: { 'if-none-match': `W/${etag}` } })).status).toBe(200)
    await submit(t, token, { coverage: 71 })
    const changed = await t.request('GET', '/v1/badge/acme/api-service', { headers: { 'if-none-match': etag } })
    expect(changed.status).toBe(200)
    expect(changed.headers.get('etag')).not.toBe(etag)
  })

  test('Last-Modified is the shown run\'s time; If-Modified-Since answers 304 until a newer run is shown; If-None-Match decides when sent', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    t.clock.advance(700)
    await submit(t, token, { coverage: 84 })
    const first = await t.request('GET', '/v1/badge/acme/api-service')
    expect(first.headers.get('last-modified')).toBe('Wed, 18 Mar 2026 09:00:00 GMT')
    const since = (date: string, extra: Record<string, string> = {}) => t.request('GET', '/v1/badge/acme/api-service', { headers: { 'if-modified-since': date, ...extra } })
    const same = await since('Wed, 18 Mar 2026 09:00:00 GMT')
    expect([same.status, same.text, same.headers.get('last-modified'), same.headers.get('etag')]).toEqual([304, '', 'Wed, 18 Mar 2026 09:00:00 GMT', first.headers.get('etag')])
    expect((await since('Wed, 18 Mar 2026 08:59:59 GMT')).status).toBe(200)
    expect((await since('not a date')).status).toBe(200)
    // If-None-Match wins over If-Modified-Since, either way.
    expect((await since('Wed, 18 Mar 2026 09:00:00 GMT', { 'if-none-match': '"other"' })).status).toBe(200)
    t.clock.advance(60_000)
    await submit(t, token, { coverage: 85 })
    const newer = await since('Wed, 18 Mar 2026 09:00:00 GMT')
    expect([newer.status, newer.headers.get('last-modified')]).toEqual([200, 'Wed, 18 Mar 2026 09:01:00 GMT'])
    expect(newer.text).toContain('coverage: 85%')
    // No run shown: no Last-Modified, so If-Modified-Since cannot freeze an unknown badge.
    const unknown = await t.request('GET', '/v1/badge/acme/nothing', { headers: { 'if-modified-since': 'Wed, 18 Mar 2026 09:00:00 GMT' } })
    expect([unknown.status, unknown.headers.get('last-modified')]).toEqual([200, null])
    // The trend graph's Last-Modified is its newest run's, and ?branch= badges carry their branch's run.
    expect((await t.request('GET', '/v1/trend/acme/api-service')).headers.get('last-modified')).toBe('Wed, 18 Mar 2026 09:01:00 GMT')
    expect((await t.request('GET', '/v1/badge/acme/api-service?branch=main')).headers.get('last-modified')).toBe('Wed, 18 Mar 2026 09:01:00 GMT')
  })

  test('styles: flat is rounded, flat-square is not, for-the-badge is 28px and upper-case; others are 400', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await submit(t, token, { coverage: 84 })
    const flat = (await t.request('GET', '/v1/badge/acme/api-service?style=flat')).text
    const square = (await t.request('GET', '/v1/badge/acme/api-service?style=flat-square')).text
    const big = (await t.request('GET', '/v1/badge/acme/api-service?style=for-the-badge')).text
    expect(flat).not.toBe(square)
    expect(png(square).height).toBe(20)
    expect(png(big).height).toBe(28)
    expect(big).toContain('aria-label="coverage: 84%"')
    const bad = await t.request('GET', '/v1/badge/acme/api-service?style=plastic')
    expect(bad.status).toBe(400)
    expect(bad.json).toEqual({ error: 'invalid query: style must be one of flat, flat-square, for-the-badge' })
  })

  test('label: custom text up to 40 characters; longer is 400', async () => {
    const t = makeTestApp()
    const ok = await t.request('GET', `/v1/badge/acme/x?label=${encodeURIComponent('tests')}`)
    expect(ok.text).toContain('aria-label="tests: unknown"')
    const long = await t.request('GET', `/v1/badge/acme/x?label=${'a'.repeat(41)}`)
    expect(long.status).toBe(400)
    expect(long.json).toEqual({ error: 'invalid query: label must be a string of 1-40 characters' })
  })

  test.each([
    '<script>alert(1)</script>',
    '"><svg onload=alert(1)>',
    "'/><foreignObject>",
    '&lt;&amp;]]><!--',
    '<title>x</title>',
  ])('hostile label %p never becomes markup', async (label) => {
    const t = makeTestApp()
    const res = await t.request('GET', `/v1/badge/acme/x?label=${encodeURIComponent(label)}&branch=${encodeURIComponent(label.slice(0, 20))}`)
    expect(res.status).toBe(200)
    // The query text may appear only escaped, inside the aria-label value and the title's text.
    const escaped = label.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
    expect(res.text).toContain(`<title>${escaped}: unknown</title>`)
    const markupOnly = res.text.replace(/"[^"]*"/g, '""').replace(/<title>[^<]*<\/title>/, '')
    expect(markupOnly).not.toContain('<script')
    expect(markupOnly).not.toContain('onload')
    expect(markupOnly).not.toContain('<foreignObject')
    expect(markupOnly).not.toContain('<!--')
    expect(res.text.match(/<title>/g)).toHaveLength(1)
    expect(res.text.match(/<svg/g)).toHaveLength(1)
    // still a well-formed picture
    expect(png(res.text).height).toBe(20)
  })
})

describe('GET /v1/trend/{org}/{repo}', () => {
  test('a line chart of the last n values, oldest to newest, with the latest printed', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    for (const coverage of [50, 55, 62, 70, 81.6]) await submit(t, token, { coverage })
    const res = await t.request('GET', '/v1/trend/acme/api-service?n=3')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('image/svg+xml')
    expect(res.headers.get('cache-control')).toBe('public, max-age=60')
    expect(res.headers.get('etag')).toBeTruthy()
    expect(res.text).toContain('aria-label="coverage trend: 82%"')
    expect(res.text).toContain('%3Cpolyline points=')
    const image = png(res.text)
    expect([image.width, image.height]).toEqual([320, 100])
    const all = await t.request('GET', '/v1/trend/acme/api-service')
    expect(all.text).not.toBe(res.text)
  })

  test('no data is an unknown graph; n outside 2-200 is 400; privacy as for badges', async () => {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t)
    const empty = await t.request('GET', '/v1/trend/acme/nothing')
    expect(empty.status).toBe(200)
    expect(empty.text).toContain('aria-label="coverage trend: unknown"')
    for (const n of ['1', '201', 'x']) {
      const res = await t.request('GET', `/v1/trend/acme/api-service?n=${n}`)
      expect(res.status).toBe(400)
      expect(res.json).toEqual({ error: 'invalid query: n must be an integer from 2 to 200' })
    }
    await submit(t, token, { coverage: 90 })
    await t.request('PATCH', '/v1/repos/api-service', { token: session, body: { private: true } })
    expect((await t.request('GET', '/v1/trend/acme/api-service')).text).toContain('trend: unknown')
    expect((await t.request('GET', `/v1/trend/acme/api-service?token=${token}`)).text).toContain('trend: unknown')
    const badge = await createToken(t, session, { scopes: ['badge'] })
    expect((await t.request('GET', `/v1/trend/acme/api-service?token=${badge.secret}`)).text).toContain('trend: 90%')
  })
})

describe('badge settings (PATCH /v1/repos/{repo} {"badge": …})', () => {
  async function repo() {
    const t = makeTestApp()
    const { token, session } = await orgWithToken(t)
    const patch = (badge: unknown) => t.request('PATCH', '/v1/repos/api-service', { token: session, body: { badge } })
    const badge = async () => (await t.request('GET', '/v1/badge/acme/api-service')).text
    return { t, token, session, patch, badge }
  }

  test('thresholds and precision change the colour and the text; the view shows the settings; the defaults can be sent back', async () => {
    const { t, token, patch, badge } = await repo()
    await submit(t, token, { coverage: 84.246 })
    expect(await badge()).toContain('coverage: 84%')
    expect(hasFill(await badge(), GREEN)).toBe(true)
    const res = await patch({ green: 90, yellow: 84, precision: 2 })
    expect([res.status, res.json.badge]).toEqual([200, { green: 90, yellow: 84, precision: 2, colour_by: 'coverage' }])
    const svg = await badge()
    expect(svg).toContain('coverage: 84.25%')
    expect(hasFill(svg, YELLOW)).toBe(true)
    // A later change keeps the fields it does not name.
    expect((await patch({ precision: 1 })).json.badge).toEqual({ green: 90, yellow: 84, precision: 1, colour_by: 'coverage' })
    expect(await badge()).toContain('coverage: 84.2%')
    expect((await t.request('GET', '/v1/trend/acme/api-service')).text).toContain('<title>coverage trend: 84.2%</title>')
    expect((await patch({ green: 80, yellow: 60, precision: 0 })).json.badge).toEqual({ green: 80, yellow: 60, precision: 0, colour_by: 'coverage' })
    expect(hasFill(await badge(), GREEN)).toBe(true)
    const audit = await t.db.all<{ metadata: string }>("SELECT metadata FROM audit_events WHERE action = 'repo.update' ORDER BY id")
    expect(audit.map((row) => JSON.parse(row.metadata).badge)).toEqual(['{"green":90,"yellow":84,"precision":2}', '{"precision":1}', '{"green":80,"yellow":60,"precision":0}'])
  })

  test('colour_by outcome: a fail is red even at 79 %, a pass green even at 50 %', async () => {
    const { t, token, patch, badge } = await repo()
    await submit(t, token, { coverage: 79, baseline: 81 })
    expect(hasFill(await badge(), YELLOW)).toBe(true)
    expect((await patch({ colour_by: 'outcome' })).status).toBe(200)
    expect(await badge()).toContain('coverage: 79%')
    expect(hasFill(await badge(), RED)).toBe(true)
    await submit(t, token, { coverage: 78.4, baseline: 79 })
    expect(hasFill(await badge(), YELLOW)).toBe(true)
    await submit(t, token, { coverage: 50, baseline: 50 })
    expect(hasFill(await badge(), GREEN)).toBe(true)
    expect(hasFill((await t.request('GET', '/v1/badge/acme/api-service?branch=main')).text, GREEN)).toBe(true)
  })

  test.each([
    [{ green: 101 }, 'invalid body: badge.green must be a number from 0 to 100'],
    [{ yellow: -1 }, 'invalid body: badge.yellow must be a number from 0 to 100'],
    [{ precision: 3 }, 'invalid body: badge.precision must be an integer from 0 to 2'],
    [{ precision: 1.5 }, 'invalid body: badge.precision must be an integer from 0 to 2'],
    [{ colour_by: 'mood' }, 'invalid body: badge.colour_by must be one of coverage, outcome'],
    [{ yellow: 85 }, 'invalid body: badge.yellow must not be above badge.green'],
  ])('%p is refused with 400 and changes nothing', async (value, error) => {
    const { patch, t } = await repo()
    await submit(t, (await orgWithToken(t, 'acme')).token, { coverage: 70 })
    const res = await patch(value)
    expect([res.status, res.json]).toEqual([400, { error }])
    expect((await t.db.get<{ badge: string | null }>("SELECT badge FROM repositories WHERE name = 'api-service'"))!.badge).toBeNull()
  })

  test('only a session of the organisation may change them', async () => {
    const { t, token } = await repo()
    await submit(t, token, { coverage: 70 })
    expect((await t.request('PATCH', '/v1/repos/api-service', { token, body: { badge: { green: 50 } } })).status).toBe(403)
  })
})

describe('the trend card', () => {
  /** Runs a day apart: 70 (baseline 70), 72 (70), 71.4 (72: warn), 70.5 (72: fail), 75 (71). */
  async function card(query = '') {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    for (const [coverage, baseline] of [[70, 70], [72, 70], [71.4, 72], [70.5, 72], [75, 71]] as const) {
      await submit(t, token, { coverage, baseline })
      t.clock.advance(86_400_000)
    }
    return t.request('GET', `/v1/trend/acme/api-service${query}`)
  }
  const texts = (node: unknown): string[] => {
    if (typeof node === 'string') return [node]
    if (Array.isArray(node)) return node.flatMap(texts)
    const props = (node as { props?: { children?: unknown } } | null)?.props
    return props ? texts(props.children) : []
  }
  const chartOf = (svg: string) => decodeURIComponent(/href="data:image\/svg\+xml;utf8,([^"]+)"/.exec(svg)?.[1] ?? '')

  test('the whole frame is inside the picture: border on every edge at 320×100', async () => {
    const res = await card()
    const image = png(res.text)
    expect([image.width, image.height]).toEqual([320, 100])
    const pixels = image.pixels
    const at = (x: number, y: number) => [...pixels.subarray((y * 320 + x) * 4, (y * 320 + x) * 4 + 3)]
    const white = [255, 255, 255]
    // The border is drawn on the right and bottom edges too (it was cut off: a 322×102 frame in 320×100).
    for (const [x, y] of [[319, 50], [0, 50], [160, 99], [160, 0]] as const) expect(at(x, y)).not.toEqual(white)
    expect(at(160, 98)).toEqual(white)
  })

  test('title, desc, the line, the dashed baseline, one mark per warn and fail run', async () => {
    const res = await card()
    expect(res.text).toContain('<title>coverage trend: 75%</title>')
    expect(res.text).toContain('<desc>coverage: 5 runs from 2026-03-18 to 2026-03-22, from 70% to 75%; latest 75% against a baseline of 71%; 1 warn, 1 fail</desc>')
    const chart = chartOf(res.text)
    expect(chart.match(/<polyline/g)).toHaveLength(2)
    expect(chart).toContain('stroke-dasharray="4 3"')
    expect(chart.match(/<circle/g)).toHaveLength(2)
    expect(chart).toContain(`fill="${THEMES.light.warn}"`)
    expect(chart).toContain(`fill="${THEMES.light.fail}"`)
  })

  test('the card states the scale, the first and last dates and the latest value', () => {
    const points = [70, 72, 75].map((coverage, i) => ({ coverage, baseline: null, outcome: 'pass' as const, at: Date.UTC(2026, 2, 18 + i, 9) }))
    expect(texts(trendTree('coverage', points, 'light', 'auto'))).toEqual(['coverage', '75%', '75%', '70%', '2026-03-18', '2026-03-20'])
    expect(texts(trendTree('coverage', points, 'light', 'full'))).toEqual(['coverage', '75%', '100%', '0%', '2026-03-18', '2026-03-20'])
    expect(texts(trendTree('coverage', [], 'light', 'auto'))).toEqual(['coverage', 'unknown', 'no data'])
    // Runs of one day: the day once, and the first and last times.
    const oneDay = points.map((p, i) => ({ ...p, at: Date.UTC(2026, 2, 18, 9, 5 * i) }))
    expect(texts(trendTree('coverage', oneDay, 'light', 'auto')).slice(-2)).toEqual(['2026-03-18 09:00', '09:10 UTC'])
  })

  test('a hot trend graph costs no statement; a run recorded here is on the very next one', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await submit(t, token, { coverage: 70 })
    const trend = async () => (await t.request('GET', '/v1/trend/acme/api-service')).text
    expect(await trend()).toContain('<title>coverage trend: 70%</title>')
    const statements = countStatements(t)
    for (let i = 0; i < 5; i++) expect(await trend()).toContain('<title>coverage trend: 70%</title>')
    expect(statements.n).toBe(0)
    await submit(t, token, { coverage: 75 })
    expect(await trend()).toContain('<title>coverage trend: 75%</title>')
  })

  test('one run draws a point, not "no data"', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await submit(t, token, { coverage: 82 })
    const res = await t.request('GET', '/v1/trend/acme/api-service')
    expect(res.text).toContain('<title>coverage trend: 82%</title>')
    expect(res.text).toContain('<desc>coverage: 1 run on 2026-03-18; latest 82% against a baseline of 80%; 0 warn, 0 fail</desc>')
    expect(chartOf(res.text).match(/<circle/g)).toHaveLength(1)
  })

  test('theme=dark draws on a dark card; scale=full spans 0-100; other values are 400', async () => {
    const dark = await card('?theme=dark')
    expect(dark.text).toContain(`fill="${THEMES.dark.background}"`)
    expect(dark.text).not.toBe((await card()).text)
    expect(png(dark.text).pixels.subarray((50 * 320 + 160) * 4, (50 * 320 + 160) * 4 + 3).every((v) => v < 40)).toBe(true)
    expect((await card('?scale=full')).status).toBe(200)
    const t = makeTestApp()
    for (const [query, error] of [['theme=blue', 'theme must be light or dark'], ['scale=log', 'scale must be auto or full']]) {
      const res = await t.request('GET', `/v1/trend/acme/api-service?${query}`)
      expect([res.status, res.json]).toEqual([400, { error: `invalid query: ${error}` }])
    }
  })

  test('every text colour reads at WCAG AA (4.5:1) on its theme', () => {
    const luminance = (hex: string) => {
      const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
    }
    const contrast = (a: string, b: string) => {
      const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x)
      return (hi! + 0.05) / (lo! + 0.05)
    }
    const low: string[] = []
    for (const theme of ['light', 'dark'] as const) {
      const palette = THEMES[theme]
      const texts = { text: palette.text, muted: palette.muted, ...Object.fromEntries([null, 59, 60, 79, 80].map((shown) => [`latest ${shown}`, trendColour(theme, shown)])) }
      for (const [name, colour] of Object.entries(texts)) if (contrast(colour, palette.background) < 4.5) low.push(`${theme} ${name} ${colour}: ${contrast(colour, palette.background).toFixed(2)}`)
    }
    expect(low).toEqual([])
    // The badge's own green on white would not pass, so the check can fail.
    expect(contrast('#44cc11', '#ffffff')).toBeLessThan(4.5)
  })
})

describe('render cache', () => {
  test('a repeated badge is served from the cache, not rendered again', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    await submit(t, token, { coverage: 84 })
    await t.request('GET', '/v1/badge/acme/api-service')
    const renders = await metric(t, 'nolapse_picture_renders')
    const hits = await metric(t, 'nolapse_picture_cache_hits')
    for (let i = 0; i < 5; i++) await t.request('GET', '/v1/badge/acme/api-service')
    expect([await metric(t, 'nolapse_picture_renders'), await metric(t, 'nolapse_picture_cache_hits')]).toEqual([renders, hits + 5])
    await t.request('GET', '/v1/badge/acme/api-service?style=flat-square')
    expect(await metric(t, 'nolapse_picture_renders')).toBe(renders + 1)
  })
})
