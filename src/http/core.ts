import { Elysia, ValidationError } from 'elysia'
import type { Logger } from '../lib/logger'
import type { Config } from '../config'
import { corsPolicy } from './cors'
import { MAX_BODY_BYTES } from './body'
import { DatabaseUnavailableError, InvalidTextError, isStorageFull } from '../db/client'
import { HttpError, payloadTooLarge } from './errors'
import { validationMessage } from './validation-message'

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/

/** Refusals after which the connection is closed: a body timed out or too large, too many requests, too busy. */
const CLOSING = new Set([408, 413, 429, 503])
const hasBody = (request: Request) => {
  const length = request.headers.get('content-length')
  return (length !== null && length !== '0') || request.headers.has('transfer-encoding')
}

/** Per-request facts the cross-cutting hooks share, keyed by the Request object (never `.state()`). */
export interface RequestMeta {
  id: string
  start: number
}
const metas = new WeakMap<Request, RequestMeta>()

export interface CoreDeps {
  config: Config
  logger: Logger
  /** Called once a response is known, with the route template: metrics hang off this. */
  onResponse?: (route: string, method: string, status: number, seconds: number) => void
}

/**
 * Request id, security headers, CORS, body limits and JSON parsing, the access log and the single
 * error mapping: every non-2xx answer is `{"error": "…"}`.
 */
export function corePlugin(deps: CoreDeps) {
  const { logger } = deps
  const cors = corsPolicy(deps.config)

  /*
   * One access-log line and one metrics sample per request, written synchronously when the answer is
   * decided (after the handler, after an error, or for a preflight). Elysia's onAfterResponse would do
   * the same from a setImmediate'd async closure per request, a measurable cost on the hottest routes.
   */
  function finish(request: Request, path: string, route: string | undefined, status: number): void {
    const meta = metas.get(request)
    const seconds = meta ? (performance.now() - meta.start) / 1000 : 0
    logger.access({ request_id: meta?.id, method: request.method, path, status, duration_ms: Math.round(seconds * 100_000) / 100 })
    deps.onResponse?.(route || 'unmatched', request.method, status, seconds)
  }

  return new Elysia({ name: 'core' })
    .onRequest(({ request, set }) => {
      const given = request.headers.get('x-request-id')
      const id = given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID()
      metas.set(request, { id, start: performance.now() })
      const headers = set.headers as Record<string, string | number>
      headers['x-request-id'] = id
      headers['x-content-type-options'] = 'nosniff'
      const allowed = cors.apply(request.headers.get('origin'), headers)
      // An empty Host gives Bun a URL that is only the path ('/v1/…'), which no fixed offset reads right (and
      // `new URL` cannot parse): refused, logged under the path as sent. Every HTTP/1.1 client names the host.
      if (request.url.charCodeAt(0) === 47) {
        headers['content-type'] = 'application/json'
        finish(request, request.url.split('?', 1)[0]!, undefined, 400)
        return new Response('{"error":"missing Host header"}', { status: 400, headers: headers as Record<string, string> })
      }
      if (request.method === 'OPTIONS' && request.headers.has('access-control-request-method')) {
        if (allowed) cors.preflight(headers)
        set.status = 204
        finish(request, new URL(request.url).pathname, undefined, 204)
        return new Response(null, { status: 204 })
      }
      const length = request.headers.get('content-length')
      if (length !== null && Number(length) > MAX_BODY_BYTES) throw payloadTooLarge()
    })
    .onError({ as: 'global' }, (context) => {
      const { code, error: thrown, request, set, path } = context
      // Elysia wraps whatever the parse hook throws in a ParseError; our own errors keep their status.
      const cause = code === 'PARSE' ? (thrown as Error).cause : undefined
      const error = cause instanceof HttpError || cause instanceof DatabaseUnavailableError || cause instanceof InvalidTextError ? cause : thrown
      let status: number
      let message: string
      if (error instanceof HttpError) {
        status = error.status
        message = error.message
        if (error.headers) Object.assign(set.headers, error.headers)
      } else if (error instanceof InvalidTextError) {
        status = 400
        message = error.message
      } else if (error instanceof DatabaseUnavailableError) {
        // Not the client's fault and not a bug: retry later (the pool reconnects by itself).
        status = 503
        message = 'database unavailable'
        set.headers['retry-after'] = '5'
        logger.warn('database unavailable', { path, reason: error.reason })
      } else if (isStorageFull(error)) {
        // Rolled back whole, so nothing is half-written: the client retries later; the operator must free space.
        status = 503
        message = 'database storage full: try again later'
        set.headers['retry-after'] = '30'
        logger.error('database storage full: writes are refused until space is freed', { path })
      } else if (code === 'VALIDATION' && (error as ValidationError).type !== 'response') {
        const e = error as ValidationError
        status = 400
        message = validationMessage(e.type, (e as { customError?: unknown }).customError, e.valueError as Parameters<typeof validationMessage>[2])
      } else if (code === 'PARSE') {
        status = 400
        message = 'malformed request'
      } else if (code === 'NOT_FOUND') {
        status = 404
        message = 'not found'
      } else {
        status = 500
        message = 'internal error'
        const meta = metas.get(request)
        logger.error('unhandled error', {
          request_id: meta?.id,
          method: request.method,
          path,
          code: String(code),
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          stack: error instanceof Error ? error.stack : undefined,
        })
      }
      set.status = status
      set.headers['content-type'] = 'application/json'
      // A refusal frees the connection too: a body left unread (refused before it was read, or cut off) would
      // otherwise keep the socket, and a flood of refused clients would keep every descriptor.
      if (CLOSING.has(status) || (hasBody(request) && !request.bodyUsed)) set.headers.connection = 'close'
      finish(request, path, (context as { route?: string }).route, status)
      return { error: message }
    })
    .onAfterHandle({ as: 'global' }, ({ request, set, path, route, response }) => {
      const status = response instanceof Response ? response.status : typeof set.status === 'number' ? set.status : 200
      finish(request, path, route, status)
    })
}
