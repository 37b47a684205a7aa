import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { openDatabase } from '../../src/db/client'
import { checkedFetch } from '../helpers/openapi'

/*
 * The API as a person uses it in a browser (headless Debian Chromium, never a downloaded one): Swagger UI's
 * "Try it out" after Authorize, and a dashboard page on another, listed origin following the live stream
 * with EventSource and a stream ticket.
 */
const CHROMIUM = '/usr/bin/chromium'
const quiet = { debug() {}, info() {}, warn() {}, error() {}, access() {}, audit() {} }

describe.skipIf(!existsSync(CHROMIUM))('in Chromium', () => {
  // The dashboard's origin: a second server on another port, listed in ALLOWED_ORIGINS.
  const dashboard = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('<!doctype html><title>dashboard</title>', { headers: { 'content-type': 'text/html' } }) })
  const origin = `http://127.0.0.1:${dashboard.port}`
  const dir = `/tmp/nolapse-browser-${crypto.randomUUID()}`
  const config = loadConfig({ DATABASE_URL: `${dir}/b.db`, PORT: '0', HOST: '127.0.0.1', SERVICE_TOKEN: 'browser-service-token', ALLOWED_ORIGINS: origin, STREAM_TICKET_TTL_SECONDS: '10' })
  const db = openDatabase(config.databaseUrl)
  const app = createApp({ config, db, logger: quiet })
  let base = ''
  let browser: Browser
  let session = ''
  let token = ''

  const api = async (method: string, path: string, credential: string, body?: unknown) => {
    const res = await checkedFetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, json: await res.json() }
  }

  beforeAll(async () => {
    app.listen({ port: 0, hostname: '127.0.0.1' })
    base = `http://127.0.0.1:${app.server!.port}`
    session = (await api('POST', '/v1/sessions/create', 'browser-service-token', { user_id: 'u', org_slug: 'acme' })).json.token
    token = (await api('POST', '/v1/tokens', session, { name: 'ci' })).json.secret
    const { chromium } = await import('playwright-core')
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await app.stop(true)
    dashboard.stop(true)
    db.close()
  })

  async function tryItOut(page: Page, operationId: string, fill: (block: ReturnType<Page['locator']>) => Promise<void>) {
    const block = page.locator(`[id$="-${operationId}"]`)
    await block.locator('.opblock-summary').click()
    await block.locator('.try-out__btn').click()
    await fill(block)
    await block.locator('.execute').click()
    const status = block.locator('.live-responses-table .response .response-col_status').first()
    await status.waitFor({ timeout: 20_000 })
    const body = await block.locator('.live-responses-table .response-col_description pre').first().textContent()
    return { status: (await status.textContent())!.trim(), body: body ?? '' }
  }

  test('Swagger UI: Authorize, then record a run (POST) and list it (GET) with "Try it out"', async () => {
    const page = await browser.newPage()
    await page.goto(`${base}/swagger/`)
    await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 })
    await page.locator('.btn.authorize').first().click()
    const apiToken = page.locator('.auth-container').filter({ hasText: 'apiToken' })
    await apiToken.locator('input').fill(token)
    await apiToken.locator('button.authorize').click()
    await page.locator('.btn-done, button.close-modal').first().click()

    const run = { repo: 'services/go-svc', branch: 'main', coverage: 91.5, baseline: 90 }
    const posted = await tryItOut(page, 'postV1Executions', async (block) => {
      await block.locator('textarea.body-param__text').fill(JSON.stringify(run))
    })
    expect(posted.status).toBe('201')
    const recorded = JSON.parse(posted.body)
    expect(recorded).toMatchObject({ repo: 'services/go-svc', branch: 'main', coverage: 91.5, delta: '+1.50', outcome: 'pass' })

    const listed = await tryItOut(page, 'getV1Executions', async (block) => {
      await block.locator('input[placeholder="org"]').fill('acme')
      await block.locator('input[placeholder="repo"]').fill('services/go-svc')
    })
    expect(listed.status).toBe('200')
    const list = JSON.parse(listed.body)
    expect(list.total).toBe(1)
    expect(list.executions[0].id).toBe(recorded.id)
    await page.screenshot({ path: `${dir}/swagger-try-it-out.png`, fullPage: false })
    await page.close()
  }, 60_000)

  test('Swagger UI: "Try it out" on the history routes (compare, export) and the public embed snippets', async () => {
    for (const [branch, coverage] of [['main', 80], ['feat', 78.5]] as const) await api('POST', '/v1/executions', token, { repo: 'history-svc', branch, coverage })
    const page = await browser.newPage()
    await page.goto(`${base}/swagger/`)
    await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 })
    await page.locator('.btn.authorize').first().click()
    const apiToken = page.locator('.auth-container').filter({ hasText: 'apiToken' })
    await apiToken.locator('input').fill(token)
    await apiToken.locator('button.authorize').click()
    await page.locator('.btn-done, button.close-modal').first().click()

    const compared = await tryItOut(page, 'getV1Compare', async (block) => {
      for (const [name, value] of [['org', 'acme'], ['repo', 'history-svc'], ['base', 'main'], ['head', 'feat']]) await block.locator(`input[placeholder="${name}"]`).fill(value!)
    })
    expect(compared.status).toBe('200')
    expect(JSON.parse(compared.body)).toMatchObject({ coverage_delta: -1.5, outcome: 'fail', base: { branch: 'main' }, head: { branch: 'feat' } })

    const exported = await tryItOut(page, 'getV1ExecutionsExport', async (block) => {
      await block.locator('input[placeholder="org"]').fill('acme')
      await block.locator('input[placeholder="repo"]').fill('history-svc')
    })
    expect(exported.status).toBe('200')
    // Swagger UI offers the CSV as a download; its first line is the header row.
    const links = await page.locator('[id$="-getV1ExecutionsExport"] .live-responses-table a[download]').count()
    expect(links + (exported.body.includes('id,repo,branch') ? 1 : 0)).toBeGreaterThan(0)

    const embed = await tryItOut(page, 'getV1EmbedByOrgByRepo', async (block) => {
      await block.locator('input[placeholder="org"]').fill('acme')
      await block.locator('input[placeholder="repo"]').fill('history-svc')
    })
    expect(embed.status).toBe('200')
    expect(JSON.parse(embed.body).markdown).toBe(`[![coverage of acme/history-svc](${base}/v1/badge/acme/history-svc)](${base}/v1/trend/acme/history-svc)`)
    await page.close()
  }, 60_000)

  test('a page on a listed origin follows the stream with EventSource and a ticket; expired or foreign tickets are 401', async () => {
    const ticket = (await api('POST', '/v1/stream-tickets', session, { org: 'acme', repo: 'api-service' })).json.ticket
    const other = (await api('POST', '/v1/stream-tickets', session, { org: 'acme', repo: 'other-repo' })).json.ticket
    const page = await browser.newPage()
    await page.goto(origin)
    const received = page.evaluate(
      ({ base, ticket }) =>
        new Promise<{ id: string; data: string }>((resolve, reject) => {
          const source = new EventSource(`${base}/v1/executions/stream?org=acme&repo=api-service&ticket=${ticket}`)
          source.addEventListener('execution', (event) => {
            source.close()
            resolve({ id: (event as MessageEvent).lastEventId, data: (event as MessageEvent).data })
          })
          source.onopen = () => (window as unknown as { opened: boolean }).opened = true
          setTimeout(() => reject(new Error('no event')), 15_000)
        }),
      { base, ticket },
    )
    await page.waitForFunction(() => (window as unknown as { opened?: boolean }).opened === true, undefined, { timeout: 15_000 })
    const run = await api('POST', '/v1/executions', token, { repo: 'api-service', branch: 'main', coverage: 77 })
    const event = await received
    expect(event.id).toBe(run.json.id)
    expect(JSON.parse(event.data)).toMatchObject({ id: run.json.id, coverage: 77 })
    // A ticket for another repository, then an expired one: the browser's own fetch sees 401.
    const status = (url: string) => page.evaluate((u) => fetch(u).then((r) => r.status), url)
    expect(await status(`${base}/v1/executions/stream?org=acme&repo=api-service&ticket=${other}`)).toBe(401)
    await Bun.sleep(10_500) // the ticket's 10 s lifetime (STREAM_TICKET_TTL_SECONDS) must pass on the server's clock
    expect(await status(`${base}/v1/executions/stream?org=acme&repo=api-service&ticket=${ticket}`)).toBe(401)
    await page.close()
  }, 60_000)
})
