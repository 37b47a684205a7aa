import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import SwaggerParser from '@apidevtools/swagger-parser'
import { existsSync } from 'node:fs'
import { createApp } from '../src/app'
import { loadConfig } from '../src/config'
import { openDatabase } from '../src/db/client'
import { makeTestApp } from './helpers/app'
import { checkedFetch } from './helpers/openapi'
import { apiReference } from '../src/modules/docs/reference'

const ROUTES: [string, string][] = [
  ['get', '/health'], ['get', '/metrics'],
  ['post', '/v1/sessions/create'], ['delete', '/v1/sessions/{id}'],
  ['get', '/v1/tokens'], ['post', '/v1/tokens'], ['get', '/v1/tokens/{id}'], ['patch', '/v1/tokens/{id}'],
  ['post', '/v1/tokens/{id}/rotate'], ['delete', '/v1/tokens/{id}'], ['post', '/v1/auth/validate'],
  ['post', '/v1/executions'], ['get', '/v1/executions'], ['get', '/v1/executions/stream'], ['post', '/v1/stream-tickets'],
  ['get', '/v1/repos'], ['patch', '/v1/repos/{repo}'], ['get', '/v1/usage'],
  ['get', '/v1/badge/{org}/{repo}'], ['get', '/v1/trend/{org}/{repo}'],
  ['get', '/v1/analytics'], ['get', '/v1/audit-log'],
  ['post', '/webhooks/stripe'], ['post', '/webhooks/razorpay'],
]

describe('OpenAPI document', () => {
  test('is valid OpenAPI 3 and lists every route of the contract with both bearer schemes', async () => {
    const t = makeTestApp()
    const res = await t.request('GET', '/swagger/json')
    expect(res.status).toBe(200)
    const doc = res.json
    await SwaggerParser.validate(structuredClone(doc))
    expect(doc.openapi).toStartWith('3.')
    expect(doc.components.securitySchemes.sessionToken).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }))
    expect(doc.components.securitySchemes.apiToken).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }))
    for (const [method, path] of ROUTES) {
      const operation = doc.paths[path]?.[method]
      expect(operation, `${method.toUpperCase()} ${path}`).toBeDefined()
      for (const [status, response] of Object.entries<any>(operation.responses)) expect(response.description, `${method} ${path} ${status}`).toBeTruthy()
    }
    expect(doc.paths['/v1/tokens'].post.security).toEqual([{ sessionToken: [] }])
    expect(doc.paths['/v1/executions'].post.responses['402']).toBeDefined()
    expect(Object.keys(doc.paths['/swagger/assets/{file}'].get.responses['200'].content)).toEqual(['text/javascript', 'text/css'])
  })

  test('Swagger UI loads its scripts from this server, not a CDN', async () => {
    const t = makeTestApp()
    const page = await t.request('GET', '/swagger')
    expect(page.status).toBe(200)
    expect(page.text).toContain('/swagger/assets/swagger-ui-bundle.js')
    expect(page.text).not.toMatch(/https?:\/\/(unpkg|cdn\.jsdelivr)/)
    const script = await t.request('GET', '/swagger/assets/swagger-ui-bundle.js')
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toStartWith('text/javascript')
    expect((await t.request('GET', '/swagger/assets/..%2Fpackage.json')).status).toBe(404)
  })
})

const CHROMIUM = '/usr/bin/chromium'

describe.skipIf(!existsSync(CHROMIUM))('against a real listening server', () => {
  const dir = `/tmp/nolapse-live-${crypto.randomUUID()}`
  const config = loadConfig({ DATABASE_URL: `${dir}/live.db`, PORT: '0', HOST: '127.0.0.1', SERVICE_TOKEN: 'live-service-token' })
  const db = openDatabase(config.databaseUrl)
  const app = createApp({ config, db, logger: { debug() {}, info() {}, warn() {}, error() {}, access() {}, audit() {} } })
  let base = ''

  beforeAll(() => {
    app.listen({ port: 0, hostname: '127.0.0.1' })
    base = `http://127.0.0.1:${app.server!.port}`
  })
  afterAll(async () => {
    await app.stop(true)
    db.close()
  })

  test('the HTTP surface works over a socket: session, token, run, list, badge, client address', async () => {
    const session = await checkedFetch(`${base}/v1/sessions/create`, {
      method: 'POST',
      headers: { authorization: 'Bearer live-service-token', 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: 'u', org_slug: 'live' }),
    }).then((r) => r.json())
    const token = await checkedFetch(`${base}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ci' }),
    }).then((r) => r.json())
    const run = await checkedFetch(`${base}/v1/executions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repo: 'svc', branch: 'main', coverage: 91, baseline: 90 }),
    })
    expect(run.status).toBe(201)
    const list = await checkedFetch(`${base}/v1/executions?org=live&repo=svc`, { headers: { authorization: `Bearer ${token.secret}` } })
    expect(list.headers.get('ratelimit-limit')).toBe('60')
    expect((await list.json()).executions[0].delta).toBe('+1.00')
    const badge = await checkedFetch(`${base}/v1/badge/live/svc`)
    expect(badge.headers.get('content-type')).toBe('image/svg+xml')
    expect(await badge.text()).toContain('coverage: 91%')
    const denied = db.sqlite.query("SELECT remote FROM audit_events WHERE action = 'session.create'").get() as any
    expect(denied.remote).toBe('127.0.0.1')
    const big = await checkedFetch(`${base}/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
    })
    expect(big.status).toBe(413)
  })

  test('Swagger UI renders the operations in headless Chromium', async () => {
    const { chromium } = await import('playwright-core')
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    try {
      const page = await browser.newPage()
      const external: string[] = []
      page.on('request', (request) => {
        if (!request.url().startsWith(base)) external.push(request.url())
      })
      await page.goto(`${base}/swagger`)
      await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 })
      const paths = await page.$$eval('.opblock-summary-path', (nodes) => nodes.map((n) => n.textContent?.replace(/\u200b/g, '')))
      expect(paths).toContain('/v1/executions')
      expect(paths).toContain('/v1/badge/{org}/{repo}')
      expect(paths.length).toBeGreaterThanOrEqual(ROUTES.length)
      expect(external.filter((u) => !u.startsWith('data:'))).toEqual([])
    } finally {
      await browser.close()
    }
    // Launching Chromium alone can take several seconds on a 2-core machine: a harness bound, not a performance threshold.
  }, 60_000)
})

test('/favicon.ico answers 204, cached for a day (Swagger UI\'s page asked for it and got a 404)', async () => {
  const t = makeTestApp()
  const res = await t.request('GET', '/favicon.ico')
  expect([res.status, res.text, res.headers.get('cache-control')]).toEqual([204, '', 'public, max-age=86400'])
})

test('the document\'s version is the server\'s (package.json)', async () => {
  const t = makeTestApp()
  const doc = (await t.request('GET', '/swagger/json')).json
  expect(doc.info.version).toBe((await Bun.file(new URL('../package.json', import.meta.url)).json()).version)
})

test('docs/api.md is what the served document and the enforced limits say (bun run docs:api rewrites it)', async () => {
  const t = makeTestApp()
  const doc = (await t.request('GET', '/swagger/json')).json
  const committed = await Bun.file(new URL('../docs/api.md', import.meta.url)).text()
  expect(committed).toBe(apiReference(doc))
})
