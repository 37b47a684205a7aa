import { describe, expect, test } from 'bun:test'
import { loadConfig, ConfigError } from '../../src/config'
import { openDatabase } from '../../src/db/client'
import { makeTestApp } from '../helpers/app'
import { orgWithToken, signIn, submit } from '../helpers/fixtures'
import { rawHttp } from '../helpers/raw-http'

describe('health and conventions', () => {
  test('GET /health answers 200 {"status":"ok"} with the standard headers', async () => {
    const t = makeTestApp()
    const res = await t.request('GET', '/health')
    expect(res.status).toBe(200)
    expect(res.json).toEqual({ status: 'ok' })
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('vary')).toBe('Origin')
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('a well-formed client X-Request-ID is echoed; a hostile one is replaced', async () => {
    const t = makeTestApp()
    expect((await t.request('GET', '/health', { headers: { 'x-request-id': 'build-42.a_b' } })).headers.get('x-request-id')).toBe('build-42.a_b')
    const hostile = await t.request('GET', '/health', { headers: { 'x-request-id': 'bad id<script>' } })
    expect(hostile.headers.get('x-request-id')).not.toBe('bad id<script>')
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const long = await t.request('GET', '/health', { headers: { 'x-request-id': 'a'.repeat(129) } })
    expect(long.headers.get('x-request-id')).toHaveLength(36)
  })

  test('unknown routes answer 404 {"error":"not found"}', async () => {
    const t = makeTestApp()
    const res = await t.request('GET', '/v1/nothing-here')
    expect(res.status).toBe(404)
    expect(res.json).toEqual({ error: 'not found' })
    expect(res.headers.get('x-request-id')).toBeTruthy()
  })

  test('every request writes one JSON access-log line with id, method, path, status and duration', async () => {
    const t = makeTestApp()
    await t.request('GET', '/health', { headers: { 'x-request-id': 'req-1' } })
    await new Promise((resolve) => setImmediate(resolve)) // the line is written after the response is sent
    const lines = t.logger.lines.filter((l) => l.startsWith('{') && JSON.parse(l).msg === 'request')
    expect(lines).toHaveLength(1)
    const entry = JSON.parse(lines[0]!)
    expect(entry).toMatchObject({ request_id: 'req-1', method: 'GET', path: '/health', status: 200 })
    expect(typeof entry.duration_ms).toBe('number')
  })
})

describe('bodies', () => {
  test('malformed JSON answers 400 malformed request', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const res = await t.request('POST', '/v1/tokens', { token: session, rawBody: '{"name":', headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(400)
    expect(res.json).toEqual({ error: 'malformed request' })
  })

  test('a JSON route given another content type answers 415', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const res = await t.request('POST', '/v1/tokens', { token: session, rawBody: 'name=ci', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expect(res.status).toBe(415)
    expect(res.json).toEqual({ error: 'unsupported media type: expected application/json' })
  })

  test('a body over 1 MiB answers 413 and writes nothing', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const res = await t.request('POST', '/v1/tokens', { token: session, body: { name: 'x'.repeat(1024 * 1024 + 10) } })
    expect(res.status).toBe(413)
    expect(res.json).toEqual({ error: 'request body too large (limit 1 MiB)' })
    expect((await t.db.get<any>('SELECT count(*) AS n FROM api_tokens'))).toEqual({ n: 0 })
  })

  test('a validation error names the field', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    const res = await t.request('POST', '/v1/tokens', { token: session, body: { name: '' } })
    expect(res.status).toBe(400)
    expect(res.json).toEqual({ error: 'invalid body: name must be a string of 1-64 characters' })
  })

  test('an unexpected failure answers 500 internal error and logs the detail under the request id', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    await t.db.run('DROP TABLE api_tokens')
    const res = await t.request('GET', '/v1/tokens', { token: session, headers: { 'x-request-id': 'boom-1' } })
    expect(res.status).toBe(500)
    expect(res.json).toEqual({ error: 'internal error' })
    const logged = t.logger.lines.map((l) => (l.startsWith('{') ? JSON.parse(l) : {})).find((e) => e.msg === 'unhandled error')
    expect(logged.request_id).toBe('boom-1')
    expect(logged.error).toContain('api_tokens')
  })
})

describe('CORS', () => {
  const env = { ALLOWED_ORIGINS: 'https://app.nolapse.dev,http://localhost:3000' }

  test('a listed origin gets its CORS headers and Vary: Origin', async () => {
    const t = makeTestApp(env)
    const res = await t.request('GET', '/health', { headers: { origin: 'https://app.nolapse.dev' } })
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.nolapse.dev')
    expect(res.headers.get('vary')).toBe('Origin')
    expect(res.headers.get('access-control-allow-credentials')).toBeNull()
  })

  test('an unlisted origin gets no CORS headers at all', async () => {
    const t = makeTestApp(env)
    for (const method of ['GET', 'OPTIONS']) {
      const res = await t.request(method, '/v1/tokens', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } })
      const cors = ([...(res.headers as any).keys()] as string[]).filter((k) => k.startsWith('access-control-'))
      expect(cors).toEqual([])
      expect(res.headers.get('vary')).toBe('Origin')
    }
  })

  test('a preflight from a listed origin answers 204 with methods and headers', async () => {
    const t = makeTestApp(env)
    const res = await t.request('OPTIONS', '/v1/tokens', { headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' } })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000')
    expect(res.headers.get('access-control-allow-methods')).toContain('PATCH')
    expect(res.headers.get('access-control-allow-headers')).toContain('Authorization')
  })

  test('with no ALLOWED_ORIGINS no origin is allowed', async () => {
    const t = makeTestApp()
    const res = await t.request('GET', '/health', { headers: { origin: 'https://app.nolapse.dev' } })
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('configuration', () => {
  test('defaults follow API.md §1', () => {
    const config = loadConfig({})
    expect(config.port).toBe(8080)
    expect(config.host).toBe('0.0.0.0')
    expect(config.databaseUrl).toBe('./data/nolapse.db')
    expect(config.sessionTtlSeconds).toBe(86400)
    expect(config.tokenRotationGraceSeconds).toBe(86400)
    expect(config.allowedOrigins).toEqual([])
    expect(config.rateLimitEnterprisePerMinute).toBe(6000)
    expect(config.rateLimitAddressPerMinute).toBe(600)
  })

  test('the session TTL is capped at 7 days', () => {
    expect(loadConfig({ SESSION_TTL_SECONDS: '99999999' }).sessionTtlSeconds).toBe(604800)
  })

  test.each([
    [{ PORT: 'abc' }, 'PORT must be a whole number'],
    [{ ALLOWED_ORIGINS: '*' }, 'ALLOWED_ORIGINS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ PORT: '70000' }, 'PORT must be between'],
  ])('bad value %p is a ConfigError', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError)
    expect(() => loadConfig(env)).toThrow(message)
  })

  test('an unopenable database path is a ConfigError', () => {
    expect(() => openDatabase('/proc/nonexistent/dir/x.db')).toThrow(ConfigError)
  })

  test('the database opens in WAL mode with foreign keys and a busy timeout', () => {
    const dir = `/tmp/nolapse-test-${crypto.randomUUID()}`
    const db = openDatabase(`${dir}/nested/db.sqlite`)
    expect(db.sqlite.query('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' })
    expect(db.sqlite.query('PRAGMA foreign_keys').get()).toEqual({ foreign_keys: 1 })
    expect(db.sqlite.query('PRAGMA busy_timeout').get()).toEqual({ timeout: 5000 })
    db.close()
  })
})

describe('start-up', () => {
  test('a bad value stops bun start with one line on stderr and exit code 1', () => {
    const proc = Bun.spawnSync(['bun', 'src/index.ts'], { env: { ...process.env, PORT: 'not-a-port' }, cwd: `${import.meta.dir}/../..` })
    expect(proc.exitCode).toBe(1)
    const stderr = proc.stderr.toString().trim()
    expect(stderr.split('\n')).toHaveLength(1)
    expect(stderr).toContain('PORT must be a whole number')
  })
})

describe('routing by the real path, whatever the Host header', () => {
  const hosts = ['x', 'h'.repeat(200), '127.0.0.1']
  const get = (port: number, path: string, host: string, extra = '') => rawHttp(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`)

  test('a short, empty or long Host never shifts the path: /xx/health, /v1/metrics and /zzz/v1/tokens are 404; the real paths answer', async () => {
    const t = makeTestApp()
    const { session } = await signIn(t)
    t.app.listen({ port: 0, hostname: '127.0.0.1' })
    const port = t.app.server!.port!
    try {
      for (const host of hosts) {
        const where = `Host: "${host.slice(0, 12)}"`
        expect([where, (await get(port, '/xx/health', host)).status]).toEqual([where, 404])
        expect([where, (await get(port, '/v1/metrics', host)).status]).toEqual([where, 404])
        expect([where, (await get(port, '/zzz/v1/tokens', host, `Authorization: Bearer ${session}\r\n`)).status]).toEqual([where, 404])
        expect([where, (await get(port, '/v1/v1/tokens', host, `Authorization: Bearer ${session}\r\n`)).status]).toEqual([where, 404])
        const health = await get(port, '/health', host)
        expect([where, health.status, health.body]).toEqual([where, 200, '{"status":"ok"}'])
        const tokens = await get(port, '/v1/tokens', host, `Authorization: Bearer ${session}\r\n`)
        expect([where, tokens.status, tokens.body]).toEqual([where, 200, '{"tokens":[]}'])
        expect([where, (await get(port, '/metrics', host)).status]).toEqual([where, 200])
      }
    } finally {
      await t.app.stop(true)
    }
  })

  test('an empty Host is refused with 400, logged under the path as sent', async () => {
    const t = makeTestApp()
    t.app.listen({ port: 0, hostname: '127.0.0.1' })
    const port = t.app.server!.port!
    try {
      for (const path of ['/health', '/xx/health', '/v1/metrics', '/v1/badge/acme/api-service?style=flat']) {
        const res = await get(port, path, '')
        expect([path, res.status, res.body]).toEqual([path, 400, '{"error":"missing Host header"}'])
        expect(res.head.toLowerCase()).toContain('x-content-type-options: nosniff')
      }
      const paths = t.logger.lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'request').map((line) => [line.path, line.status])
      expect(paths).toEqual([['/health', 400], ['/xx/health', 400], ['/v1/metrics', 400], ['/v1/badge/acme/api-service', 400]])
    } finally {
      await t.app.stop(true)
    }
  })

  test('the access log records the path that was asked for', async () => {
    const t = makeTestApp()
    const { token } = await orgWithToken(t)
    expect((await submit(t, token, {})).status).toBe(201)
    t.app.listen({ port: 0, hostname: '127.0.0.1' })
    const port = t.app.server!.port!
    try {
      for (const host of hosts) {
        t.logger.lines.length = 0
        expect((await get(port, '/v1/badge/acme/api-service', host)).status).toBe(200)
        expect((await get(port, '/v1/executions?org=acme&repo=api-service', host, `Authorization: Bearer ${token}\r\n`)).status).toBe(200)
        const paths = t.logger.lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'request').map((line) => line.path)
        expect([host.slice(0, 12), paths]).toEqual([host.slice(0, 12), ['/v1/badge/acme/api-service', '/v1/executions']])
      }
    } finally {
      await t.app.stop(true)
    }
  })

  test('app.handle routes by the real path too', async () => {
    const t = makeTestApp()
    expect((await t.app.handle(new Request('http://x/xx/health'))).status).toBe(404)
    expect((await t.app.handle(new Request('http://x/v1/metrics'))).status).toBe(404)
    expect((await t.app.handle(new Request('http://x/health'))).status).toBe(200)
  })
})
