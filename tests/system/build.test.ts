import { describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onPostgres } from '../helpers/db'
import { freePort, ROOT } from '../helpers/process'
import { BILLING_ENV, postStripe, stripeEvent, webhookTarget } from '../helpers/webhooks'

/*
 * `bun run build` bundles the server and the CLI to bytecode (`.build/server/`), what `bun run start:built`
 * and the image start: about half the cold start of the source. What the first request does not need
 * (satori and the fonts, prom-client, the billing SDKs, drizzle's migrator) stays outside the bundle and is
 * loaded on first use, so this test uses each of those through the built server.
 */
describe.skipIf(onPostgres)('the built server', () => {
  test('bun run build, then the bundle migrates a new database, serves every kind of answer, and the built CLI works on it', async () => {
    const build = Bun.spawnSync(['bun', 'run', 'build'], { cwd: ROOT, stderr: 'pipe' })
    expect(build.exitCode).toBe(0)
    const file = join(mkdtempSync(join(tmpdir(), 'nolapse-built-')), 'built.db')
    const cli = (...args: string[]) => {
      const run = Bun.spawnSync(['bun', '.build/server/cli/index.js', ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: file }, stderr: 'pipe' })
      if (run.exitCode !== 0) throw new Error(run.stderr.toString())
      return run.stdout.toString().trim()
    }
    const port = await freePort()
    const server = Bun.spawn(['bun', '.build/server/index.js'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: file, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error', ...BILLING_ENV, METRICS_TOKEN: 'metrics-secret-0123456789abcdef' },
      stdout: 'ignore',
      stderr: 'pipe',
    })
    try {
      const base = `http://127.0.0.1:${port}`
      for (let i = 0; i < 500; i++) {
        if (await fetch(`${base}/health`).then((r) => r.ok, () => false)) break
        await Bun.sleep(10)
      }
      expect(await (await fetch(`${base}/health`)).json()).toEqual({ status: 'ok' })
      const orgId = /\((org_[0-9a-z]+)\)/.exec(cli('org', 'create', 'built', '--plan', 'team'))![1]
      const token = cli('token', 'create', '--org', 'built', '--name', 'ci')
      expect(token).toMatch(/^nlp_[0-9a-f]{40}$/)
      const ingest = await fetch(`${base}/v1/executions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ repo: 'svc', branch: 'main', coverage: 87.5 }),
      })
      expect(ingest.status).toBe(201)
      const badge = await fetch(`${base}/v1/badge/built/svc`)
      expect([badge.status, badge.headers.get('content-type')]).toEqual([200, 'image/svg+xml'])
      expect(await badge.text()).toContain('coverage: 88%')
      const metrics = await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer metrics-secret-0123456789abcdef' } })
      expect(await metrics.text()).toContain('nolapse_executions_ingested_total 1')
      expect((await fetch(`${base}/swagger/json`)).status).toBe(200)
      const asset = await fetch(`${base}/swagger/assets/swagger-ui.css`)
      expect([asset.status, (await asset.text()).length > 1000]).toEqual([200, true])
      // The billing SDKs load on the first webhook: a signed event is verified by them and applied.
      const target = webhookTarget(async (request) => fetch(base + new URL(request.url).pathname, { method: request.method, headers: request.headers, body: await request.text() }))
      const event = stripeEvent('customer.subscription.created', { customer: 'c', status: 'active', metadata: { org_id: orgId }, items: { data: [{ price: { id: 'price_enterprise' } }] } })
      expect((await postStripe(target, event)).status).toBe(200)
    } finally {
      server.kill()
      await server.exited
    }
    expect(await new Response(server.stderr).text()).toBe('')
  }, 60_000)
})
