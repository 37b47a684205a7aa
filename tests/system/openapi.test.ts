import { describe, expect, test } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import openapiTS, { astToString } from 'openapi-typescript'
import { makeTestApp } from '../helpers/app'

/*
 * The API document as real clients read it (issue 14): the field's linter, a generated TypeScript client,
 * and the facts Swagger UI and Prism rely on. (Every response of the whole suite is also checked against
 * this document: see helpers/openapi.ts.)
 */

const ROOT = join(import.meta.dir, '..', '..')

async function servedDocument() {
  const t = makeTestApp()
  return (await t.request('GET', '/swagger/json')).json
}

function schemasOf(doc: any): any[] {
  const out: any[] = []
  const walk = (node: any) => {
    if (!node || typeof node !== 'object') return
    if (Array.isArray(node)) return node.forEach(walk)
    if ('schema' in node && typeof node.schema === 'object') out.push(node.schema)
    for (const value of Object.values(node)) walk(value)
  }
  walk(doc.paths)
  return out
}

describe('the served OpenAPI document', () => {
  test('redocly lint (recommended rules) finds no error', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nolapse-lint-')), 'openapi.json')
    writeFileSync(file, JSON.stringify(await servedDocument()))
    const lint = Bun.spawnSync([process.execPath, join(ROOT, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--format=json'], {
      cwd: ROOT,
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    })
    const report = JSON.parse(lint.stdout.toString())
    expect(report.problems.filter((p: { severity: string }) => p.severity === 'error')).toEqual([])
    expect(report.totals.errors).toBe(0)
  }, 60_000)

  test('every operation with a body documents it as application/json with a schema and an example', async () => {
    const doc = await servedDocument()
    const bodies: [string, string][] = [
      ['post', '/v1/sessions/create'], ['post', '/v1/auth/validate'], ['post', '/v1/tokens'], ['patch', '/v1/tokens/{id}'],
      ['post', '/v1/executions'], ['patch', '/v1/repos/{repo}'], ['post', '/v1/stream-tickets'], ['post', '/webhooks/stripe'], ['post', '/webhooks/razorpay'],
    ]
    for (const [method, path] of bodies) {
      const body = doc.paths[path][method].requestBody
      expect(body?.required, `${method} ${path}`).toBe(true)
      expect(Object.keys(body.content), `${method} ${path}`).toEqual(['application/json'])
      expect(body.content['application/json'].schema.type).toBe('object')
      expect(body.content['application/json'].example, `${method} ${path}`).toBeDefined()
    }
    const run = doc.paths['/v1/executions'].post.requestBody.content['application/json']
    // branch is required of an API token's run and defaults to an OIDC token's ref, so the schema cannot require it (its description says so).
    expect(run.schema.required).toEqual(['repo', 'coverage'])
    expect(run.schema.properties.branch.description).toContain('Required with an API token')
    expect(run.example.repo).toBe('api-service')
  })

  test('answers are documented with their real media types', async () => {
    const doc = await servedDocument()
    const types = (path: string, status: string) => Object.keys(doc.paths[path].get.responses[status].content ?? {})
    expect(types('/v1/badge/{org}/{repo}', '200')).toEqual(['image/svg+xml'])
    expect(types('/v1/trend/{org}/{repo}', '200')).toEqual(['image/svg+xml'])
    expect(doc.paths['/v1/badge/{org}/{repo}'].get.responses['304'].content).toBeUndefined()
    expect(types('/v1/executions/stream', '200')).toEqual(['text/event-stream'])
    expect(types('/metrics', '200')).toEqual(['text/plain'])
    expect(types('/swagger', '200')).toEqual(['text/html'])
    expect(doc.paths['/v1/tokens/{id}'].delete.responses['204'].content).toBeUndefined()
  })

  test('integers are integers with their bounds, required parameters are required, headers are parameters', async () => {
    const doc = await servedDocument()
    const list = doc.paths['/v1/executions'].get
    const param = (name: string) => list.parameters.find((p: { name: string }) => p.name === name)
    expect(param('org').required).toBe(true)
    expect(param('repo').required).toBe(true)
    expect(param('limit').schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 10 })
    expect(list.responses['200'].content['application/json'].schema.properties.total).toEqual({ type: 'integer' })
    for (const schema of schemasOf(doc)) expect(JSON.stringify(schema)).not.toContain('"format":"integer"')
    // TypeBox's `error` keyword is not OpenAPI: no schema keeps it (a property named `error` is fine).
    const keywords = JSON.stringify(doc.paths).match(/"error":"/g) ?? []
    expect(keywords).toEqual([])
    const headers = (path: string, method: string) =>
      doc.paths[path][method].parameters.filter((p: { in: string }) => p.in === 'header').map((p: { name: string; required: boolean }) => [p.name, p.required])
    expect(headers('/v1/executions', 'post')).toEqual([['Idempotency-Key', false]])
    expect(headers('/v1/executions/stream', 'get')).toEqual([['Last-Event-ID', false]])
    expect(headers('/v1/badge/{org}/{repo}', 'get')).toEqual([['If-None-Match', false], ['If-Modified-Since', false]])
    expect(headers('/webhooks/stripe', 'post')).toEqual([['Stripe-Signature', true]])
    expect(headers('/webhooks/razorpay', 'post')).toEqual([['X-Razorpay-Signature', true], ['X-Razorpay-Event-Id', true]])
  })

  test("every operation states the statuses its shape implies (the route's own list, nothing added afterwards)", async () => {
    const t = makeTestApp()
    const doc = (await t.request('GET', '/swagger/json')).json
    const missing: string[] = []
    for (const route of t.app.routes) {
      const hooks = route.hooks as { detail?: { hide?: boolean; security?: unknown[] }; params?: unknown; query?: unknown; body?: unknown }
      const path = route.path.replace(/:([^/]+)/g, '{$1}')
      const operation = doc.paths[path]?.[route.method.toLowerCase()]
      if (!operation || hooks.detail?.hide) continue
      // Any route: a declared body over 1 MiB is refused before routing, anything can fail or meet the
      // database or rate-limit store away; parameters are validated; a body is read under the stall and
      // in-flight bounds and its media type checked; a credential can be refused, lack a scope or be limited.
      const implied = [413, 500, 503]
      const readsBody = route.method !== 'GET' && route.method !== 'HEAD'
      const auth = (hooks.detail?.security?.length ?? 0) > 0
      if (readsBody || (operation.parameters?.length ?? 0) > 0) implied.push(400)
      if (readsBody) implied.push(408)
      if (readsBody && (hooks.body || auth)) implied.push(415)
      if (auth) implied.push(401, 403, 429)
      for (const status of implied) if (!operation.responses[status]) missing.push(`${route.method} ${route.path} ${status}`)
    }
    expect(missing).toEqual([])
  })

  test('public operations say so with security: [], and every operation has one', async () => {
    const doc = await servedDocument()
    const publicOperations: [string, string][] = [['/health', 'get'], ['/v1/badge/{org}/{repo}', 'get'], ['/v1/trend/{org}/{repo}', 'get'], ['/v1/auth/validate', 'post'], ['/v1/sessions/{id}', 'delete'], ['/webhooks/stripe', 'post'], ['/webhooks/razorpay', 'post']]
    for (const [path, method] of publicOperations)
      expect(doc.paths[path][method].security, `${method} ${path}`).toEqual([])
    for (const operations of Object.values<any>(doc.paths)) for (const operation of Object.values<any>(operations)) expect(operation.security).toBeArray()
    expect(doc.paths['/v1/executions/stream'].get.security).toEqual([{ sessionToken: [] }, { apiToken: [] }, {}])
  })

  test('a client generated by openapi-typescript type-checks: required parameters required, integers numbers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nolapse-client-'))
    writeFileSync(join(dir, 'api.d.ts'), astToString(await openapiTS(await servedDocument())))
    writeFileSync(
      join(dir, 'usage.ts'),
      `import type { paths } from './api'
type List = paths['/v1/executions']['get']
type Body = List['responses'][200]['content']['application/json']
export const query: List['parameters']['query'] = { org: 'acme', repo: 'api-service' }
// @ts-expect-error org and repo are required
export const missing: List['parameters']['query'] = { limit: 10 }
export const total = (body: Body): number => body.total + body.executions.length
export const delta = (body: Body): string => body.executions[0]!.delta
type Run = paths['/v1/executions']['post']['requestBody']
export const run: NonNullable<Run>['content']['application/json'] = { repo: 'api-service', branch: 'main', coverage: 82.3 }
type Usage = paths['/v1/usage']['get']['responses'][200]['content']['application/json']
export const tokens = (usage: Usage): number | null => usage.tokens.limit
export const svg: paths['/v1/badge/{org}/{repo}']['get']['responses'][200]['content']['image/svg+xml'] = '<svg/>'
`,
    )
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', noUncheckedIndexedAccess: true, skipLibCheck: true }, files: ['usage.ts'] }))
    const tsc = Bun.spawnSync([process.execPath, join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir])
    expect(tsc.stdout.toString() + tsc.stderr.toString()).toBe('')
    expect(tsc.exitCode).toBe(0)
  }, 60_000)

  test('/swagger/ serves the same page as /swagger, loading the document by an absolute path', async () => {
    const t = makeTestApp()
    const plain = await t.request('GET', '/swagger')
    const slash = await t.request('GET', '/swagger/')
    expect(slash.status).toBe(200)
    expect(slash.headers.get('content-type')).toStartWith('text/html')
    expect(slash.text).toBe(plain.text)
    expect(slash.text).toContain('"url":"/swagger/json"')
  })
})
