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

/**
 * What every route can answer whatever its shape: a declared body over 1 MiB is refused before routing
 * (413), and any route can fail (500) or meet the database or the rate-limit store away (503).
 */
const EVERY_ROUTE = [413, 500, 503] as const

/** `{"error": "…"}` under each of the given statuses and those every route can answer, for a route's responses. */
export function errors<const S extends number>(...statuses: S[]): Record<S | (typeof EVERY_ROUTE)[number], TSchema> {
  const out = {} as Record<S | (typeof EVERY_ROUTE)[number], TSchema>
  for (const status of [...statuses, ...EVERY_ROUTE])
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

/** A header a client sends to a route, for its OpenAPI entry. */
export interface HeaderParameter {
  name: string
  required?: boolean
  description: string
  schema?: Json
}

/**
 * What a route states for its OpenAPI entry that Elysia's hooks have no place for. Spread into the route's
 * `detail` with `...documents({ … })`; the finishing pass (modules/docs/exact.ts) writes each where OpenAPI
 * wants it and adds nothing the route did not state.
 */
export interface DocumentFacts {
  /** The media types of a status that is not application/json (an SVG, an event stream, Prometheus text). */
  media?: Partial<Record<number, string | string[]>>
  /** The headers a client sends (Idempotency-Key, Last-Event-ID, If-None-Match, a webhook's signature). */
  headers?: HeaderParameter[]
  /** Query parameters optional in the TypeBox schema that the handler requires with the contract's own message. */
  required?: string[]
  /** The body of a route that verifies raw bytes (the webhooks): no schema to validate with, one to document. */
  body?: TSchema
}

/** Where each fact sits in a route's `detail` (OpenAPI's `x-` extension keys, which the finishing pass removes). */
const FACT_KEYS = { media: 'x-media', headers: 'x-headers', required: 'x-required', body: 'x-body' } as const

/** A route's document facts, as keys of its `detail`. */
export function documents(facts: DocumentFacts): Json {
  const out: Json = {}
  for (const [fact, key] of Object.entries(FACT_KEYS)) if (facts[fact as keyof DocumentFacts] !== undefined) out[key] = facts[fact as keyof DocumentFacts]
  return out
}

/** The document facts a route's `detail` states (what `documents` wrote). */
export function factsOf(detail: Json | undefined): DocumentFacts {
  const out: DocumentFacts = {}
  for (const [fact, key] of Object.entries(FACT_KEYS)) if (detail?.[key] !== undefined) (out as Json)[fact] = detail[key]
  return out
}

/** The `x-` keys `documents` adds, which the finishing pass removes from the operation it writes. */
export const FACT_DETAIL_KEYS: readonly string[] = Object.values(FACT_KEYS)

/** What the document's finishing pass (modules/docs/exact.ts) reads from each route. */
export interface RouteFacts {
  method: string
  path: string
  body?: Json
  detail?: Json
  auth?: boolean
}

/**
 * A route's responses stated in its `detail`, as the OpenAPI document writes them, instead of in its
 * `response` map: for the hot routes, which return a ready JSON string. Elysia then neither checks nor
 * re-encodes the value against a TypeBox schema (about a sixth of a list request) nor builds a second
 * Response to merge headers into, while the document still carries every schema, stated once at the
 * route; the tests hold every answer to the served document, so a drift fails a test.
 */
export function documentedOnly(responses: Record<number, TSchema>): Json {
  return Object.fromEntries(
    Object.entries(responses).map(([status, schema]) => {
      const description = (schema.description as string | undefined) ?? `Response for status ${status}`
      if (status === '204' || status === '304') return [status, { description }]
      return [status, { description, content: { 'application/json': { schema } } }]
    }),
  )
}

/** Where the document's finishing pass reads the app's routes from (docs/exact.ts); wired by createApp once built. */
export function createRouteFacts() {
  return { routes: (() => []) as () => RouteFacts[] }
}

export type RouteFactsSource = ReturnType<typeof createRouteFacts>

/** Sends `body` as JSON from a hot route (its responses stated with documentedOnly). */
export function sendJson(set: { status?: number | string; headers: Record<string, unknown> }, body: unknown, status = 200): string {
  set.status = status
  set.headers['content-type'] = 'application/json'
  return JSON.stringify(body)
}
