import { createApp, type AppDeps } from '../../src/app'
import { loadConfig, type Config } from '../../src/config'
import { testDatabase } from './db'
import { manualClock } from '../../src/lib/clock'
import { memoryLogger } from '../../src/lib/logger'
import { checkAgainstDocument } from './openapi'

export const SERVICE_TOKEN = 'test-service-token-0123456789'

export interface RequestOptions {
  body?: unknown
  rawBody?: BodyInit
  token?: string
  headers?: Record<string, string>
}

/** A whole server on a fresh database (`:memory:`, or its own PostgreSQL database: helpers/db.ts) with a manual clock and a logger that records its lines. */
export function makeTestApp(env: Record<string, string> = {}, extra: Partial<AppDeps> = {}) {
  const config: Config = loadConfig({ DATABASE_URL: ':memory:', SERVICE_TOKEN, ...env })
  const db = testDatabase()
  const clock = manualClock()
  const logger = memoryLogger()
  const app = createApp({ config, db, clock, logger, ...extra })
  // Every answer any test sees is held to the served OpenAPI document (see helpers/openapi.ts).
  const handle = app.handle.bind(app)
  app.handle = (async (request: Request) => {
    const response = await handle(request)
    const streaming = response.headers.get('content-type')?.startsWith('text/event-stream')
    // An event stream is checked by status and headers only: a clone would keep it open after the client cancels.
    await checkAgainstDocument(request, streaming ? new Response(null, { status: response.status, headers: response.headers }) : response.clone())
    return response
  }) as typeof app.handle

  async function request(method: string, path: string, options: RequestOptions = {}) {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token) headers.authorization = `Bearer ${options.token}`
    let body: BodyInit | undefined = options.rawBody
    if (options.body !== undefined) {
      body = JSON.stringify(options.body)
      headers['content-type'] ??= 'application/json'
    }
    const res = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }))
    const text = await res.text()
    let json: any
    try {
      json = text ? JSON.parse(text) : undefined
    } catch {
      json = undefined
    }
    return { status: res.status, headers: res.headers, text, json }
  }

  return { app, db, clock, logger, config, request }
}

export type TestApp = ReturnType<typeof makeTestApp>
