import { t, type TSchema } from 'elysia'

/** What each error status means, for the document (route maps and the finishing pass in docs/exact.ts). */
export const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request',
  401: 'Missing or invalid credential',
  402: 'Plan limit reached or plan feature needed',
  403: 'Credential lacks the scope, plan or organisation',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Body over 1 MiB',
  415: 'Body is not application/json',
  408: 'The request body stalled',
  429: 'Rate limit exceeded (or, for event streams, a stream cap is full)',
  503: 'Unavailable for a moment (too many request bodies in flight, or the database or rate-limit store away); retry after Retry-After',
  500: 'Internal error',
}

/** `{"error": "…"}` under each of the given statuses, for a route's `response` map. */
export function errors<const S extends number>(...statuses: S[]): Record<S, TSchema> {
  const out = {} as Record<S, TSchema>
  for (const status of statuses)
    out[status] = t.Object({ error: t.String() }, { description: ERROR_DESCRIPTIONS[status] ?? 'Error' })
  return out
}

/** Documented, not format-checked on the way out: the server writes these itself (see lib/clock.ts isoSeconds). */
export const Timestamp = t.String({ description: 'ISO 8601 UTC, second precision', examples: ['2026-03-18T09:00:00Z'] })
export const NullableTimestamp = t.Union([Timestamp, t.Null()])

/**
 * A JSON object read key by key without a declared shape: OpenAPI fragments, a route's `detail`, a
 * provider's webhook payload. `any` (the one alias in src) because these are walked generically and
 * every value is checked with typeof where it matters.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>

/** What the document's finishing pass (modules/docs/exact.ts) reads from each route. */
export interface RouteFacts {
  method: string
  path: string
  body?: Json
  detail?: Json
  auth?: boolean
}

/**
 * Response schemas that document a route without being enforced at run time. Hot routes return a
 * ready JSON string: Elysia then neither re-encodes the value against a TypeBox schema (about a sixth
 * of a list request) nor builds a second Response to merge headers into. The schemas reach the OpenAPI
 * document through @elysiajs/openapi's `references`, and the tests hold the routes to them.
 */
export function createDocumentedResponses() {
  const references: Record<string, Record<string, { response: Record<number, TSchema> }>> = {}
  return {
    references,
    /** The app's routes, for the document's finishing pass (docs/exact.ts); wired by createApp once built. */
    routes: (() => []) as () => RouteFacts[],
    /** Records `response` for `method path` (Elysia's `:param` form) and returns it for reading. */
    add(method: string, path: string, response: Record<number, TSchema>) {
      ;(references[path] ??= {})[method.toLowerCase()] = { response }
      return response
    },
  }
}

export type DocumentedResponses = ReturnType<typeof createDocumentedResponses>

/** Sends `body` as JSON from a hot route (see createDocumentedResponses). */
export function sendJson(set: { status?: number | string; headers: Record<string, unknown> }, body: unknown, status = 200): string {
  set.status = status
  set.headers['content-type'] = 'application/json'
  return JSON.stringify(body)
}
