import Ajv2020 from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { openDatabase } from '../../src/db/client'

/*
 * Holds every response the suite sees to the served OpenAPI document: the status must be documented for
 * the operation, the media type must be one the document names, and a JSON body must match its schema
 * (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses). makeTestApp wraps app.handle with it, so no test can
 * see an answer the document does not describe.
 *
 * Rules that are not operations: a path outside the document answers a 4xx `{"error": …}` (404 for an
 * unknown route), and a CORS preflight 204 with no body.
 */

type Json = Record<string, any>

interface Operation {
  path: string
  method: string
  pattern: RegExp
  responses: Json
}

const quiet = { debug() {}, info() {}, warn() {}, error() {}, access() {}, audit() {} }

async function servedDocument(): Promise<Json> {
  const config = loadConfig({ DATABASE_URL: ':memory:', SERVICE_TOKEN: 'x' })
  const db = openDatabase(':memory:')
  const app = createApp({ config, db, logger: quiet })
  const res = await app.handle(new Request('http://localhost/swagger/json'))
  const doc = await res.json()
  db.close()
  return doc
}

/** `{repo}` may hold slashes (monorepo services); every other parameter is one segment. */
function patternOf(path: string): RegExp {
  const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_, name) => (name === 'repo' ? '.+' : '[^/]+'))
  return new RegExp(`^${source}$`)
}

const ERROR_SCHEMA = { type: 'object', required: ['error'], properties: { error: { type: 'string' } }, additionalProperties: false }

function build(doc: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true })
  addFormats(ajv)
  const operations: Operation[] = []
  for (const [path, methods] of Object.entries<Json>(doc.paths))
    for (const [method, operation] of Object.entries<Json>(methods)) operations.push({ path, method, pattern: patternOf(path), responses: operation.responses })
  // Static paths before templated ones, as the router matches them.
  operations.sort((a, b) => (a.path.includes('{') ? 1 : 0) - (b.path.includes('{') ? 1 : 0))
  const validators = new Map<object, ReturnType<typeof ajv.compile>>()
  const validatorFor = (schema: object) => {
    let validate = validators.get(schema)
    if (!validate) validators.set(schema, (validate = ajv.compile(schema)))
    return validate
  }

  return async function check(request: Request, response: Response): Promise<void> {
    const url = new URL(request.url)
    const method = request.method.toLowerCase()
    const where = `${request.method} ${url.pathname} → ${response.status}`
    const type = (response.headers.get('content-type') ?? '').split(';', 1)[0]!.trim().toLowerCase()
    const fail = (why: string): never => {
      throw new Error(`response not described by the OpenAPI document: ${where}: ${why}`)
    }
    if (method === 'options' && request.headers.has('access-control-request-method')) {
      if (response.status !== 204 || (await response.text()) !== '') fail('a preflight answers 204 with no body')
      return
    }
    // The router treats `/v1/tokens/` as `/v1/tokens` (Elysia's loose paths), and so does this check.
    const path = url.pathname.length > 1 && url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname
    const operation = operations.find((o) => o.method === method && o.pattern.test(path))
    if (!operation) {
      // Outside every documented path: an unknown route is 404; a path the router still matches loosely
      // (`/v1/badge/acme/` reaches the badge route) may be refused by that route's own checks first.
      if (response.status < 400 || response.status > 499) fail('no documented operation, and not a 4xx')
      if (!validatorFor(ERROR_SCHEMA)(await response.json().catch(() => null))) fail('body is not {"error": string}')
      return
    }
    const documented = operation.responses[String(response.status)] ?? operation.responses.default
    if (!documented) fail(`status not documented for ${operation.method.toUpperCase()} ${operation.path}`)
    const content: Json | undefined = documented.content
    if (!content) {
      if ((await response.text()) !== '') fail('documented without a body, but has one')
      return
    }
    const entry = content[type]
    if (!entry) fail(`media type "${type}" not documented (documented: ${Object.keys(content).join(', ')})`)
    if (type === 'text/event-stream') return // an open stream: the media type is what a client checks first
    const text = await response.text()
    let body: unknown = text
    if (type === 'application/json') {
      try {
        body = JSON.parse(text)
      } catch {
        fail('invalid JSON')
      }
    }
    const validate = validatorFor(entry.schema ?? {})
    if (!validate(body)) fail(`body does not match the schema: ${ajv.errorsText(validate.errors)}; body: ${text.slice(0, 300)}`)
  }
}

let checker: Promise<ReturnType<typeof build>> | undefined

/** Checks one response against the served document (built once per test process). */
export async function checkAgainstDocument(request: Request, response: Response): Promise<void> {
  checker ??= servedDocument().then(build)
  await (await checker)(request, response)
}

/** fetch() against a real listening server, its answer held to the document like every in-process one. */
export async function checkedFetch(url: string, init?: RequestInit): Promise<Response> {
  const response = await fetch(url, init)
  const streaming = response.headers.get('content-type')?.startsWith('text/event-stream')
  await checkAgainstDocument(new Request(url, { method: init?.method ?? 'GET', headers: init?.headers }), streaming ? new Response(null, { status: response.status, headers: response.headers }) : response.clone())
  return response
}
