/*
 * Makes the OpenAPI document that @elysiajs/openapi generates exact for the clients that read it
 * (Swagger UI, Prism, openapi-typescript, redocly). Each fix answers something the generator cannot know
 * or gets wrong; the facts come from the routes themselves (their TypeBox schemas and the facts they state
 * with `documents()` in their `detail`), so the document cannot drift from the server:
 *
 * - request bodies: routes parse JSON with our own parser (it checks the credential first), which the
 *   generator skips, leaving `content: {}`: the body schema and its example go under application/json;
 * - media types: SVG, event streams, Prometheus text and HTML are declared per route (`documents({ media })`);
 * - Elysia's integers accept numeric strings, documented as `anyOf: [string/integer, integer]` (with a
 *   bogus `default: 0`): they become plain `integer` with their bounds;
 * - query parameters the handlers require with the contract's own messages are optional in the schema
 *   (`documents({ required })`): they are required in the document;
 * - headers a client sends (Idempotency-Key, Last-Event-ID, If-None-Match, signatures) are declared per
 *   route (`documents({ headers })`) and become header parameters;
 * - TypeBox's custom `error` keyword is not OpenAPI and is removed; a 204 gets no content;
 * - public operations get `security: []`.
 *
 * It adds no status a route did not state: each route lists its own (tests/system/openapi.test.ts checks
 * that the list covers what its shape implies).
 */

import { ERROR_DESCRIPTIONS, FACT_DETAIL_KEYS, factsOf, type Json, type RouteFacts } from '../../http/schemas'

export type { RouteFacts }

const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions']
const SCHEMA_LISTS = ['anyOf', 'allOf', 'oneOf', 'prefixItems']
const SCHEMA_ONES = ['items', 'additionalProperties', 'not', 'contains', 'if', 'then', 'else']

/** Walks a JSON schema, schema by schema (never into a `properties` map's keys, so a property named `error` stays). */
function cleanSchema(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema
  let s = { ...(schema as Json) }
  delete s.error
  // Elysia's t.Integer/t.Numeric: a numeric string or a number. The wire format is the number.
  if (Array.isArray(s.anyOf) && s.anyOf.length === 2) {
    const numeric = s.anyOf.find((b: Json) => b?.type === 'string' && (b.format === 'integer' || b.format === 'numeric'))
    const real = s.anyOf.find((b: Json) => b?.type === 'integer' || b?.type === 'number')
    if (numeric && real) {
      const { anyOf: _anyOf, default: _default, ...outer } = s
      s = { ...outer, ...real }
      delete s.error
    }
  }
  // Unions written the way the generator writes them for routes it sees (so every route reads alike):
  // constants of one type as an `enum`, and "T or null" of a bare type as `type: [T, "null"]`.
  if (Array.isArray(s.anyOf) && s.anyOf.length > 0) {
    const branches = s.anyOf as Json[]
    const type = branches[0]?.type
    if (branches.every((b) => b && b.const !== undefined && b.type === type && Object.keys(b).length === 2)) {
      const { anyOf: _anyOf, ...outer } = s
      s = { ...outer, type, enum: branches.map((b) => b.const) }
    } else if (branches.length === 2 && branches.some((b) => b?.type === 'null' && Object.keys(b).length === 1)) {
      const other = branches.find((b) => b?.type !== 'null')
      if (other && typeof other.type === 'string' && Object.keys(other).length === 1) {
        const { anyOf: _anyOf, ...outer } = s
        s = { ...outer, type: [other.type, 'null'] }
      }
    }
  }
  for (const key of SCHEMA_MAPS)
    if (s[key] && typeof s[key] === 'object') s[key] = Object.fromEntries(Object.entries(s[key]).map(([k, v]) => [k, cleanSchema(v)]))
  for (const key of SCHEMA_LISTS) if (Array.isArray(s[key])) s[key] = s[key].map(cleanSchema)
  for (const key of SCHEMA_ONES) if (s[key] && typeof s[key] === 'object') s[key] = cleanSchema(s[key])
  return s
}

/** An OpenAPI response of `{"error": string}` for `status`. */
export const errorResponse = (status: number) => ({
  description: ERROR_DESCRIPTIONS[status] ?? 'Error',
  content: { 'application/json': { schema: { type: 'object', required: ['error'], properties: { error: { type: 'string' } } } } },
})

/** `/v1/tokens/:id` → `/v1/tokens/{id}` */
export const openapiPath = (path: string) => path.replace(/:([^/]+)/g, '{$1}')

export function exactDocument(document: Json, routes: RouteFacts[]): Json {
  const doc = structuredClone(document)
  const facts = new Map(routes.map((r) => [`${r.method.toLowerCase()} ${openapiPath(r.path)}`, r]))
  for (const [path, operations] of Object.entries<Json>(doc.paths ?? {})) {
    for (const [method, operation] of Object.entries<Json>(operations)) {
      if (!operation || typeof operation !== 'object') continue
      const route = facts.get(`${method} ${path}`)
      const stated = factsOf(route?.detail)
      for (const key of FACT_DETAIL_KEYS) delete operation[key]
      const parameters: Json[] = (operation.parameters ?? []).map((p: Json) => ({ ...p, schema: cleanSchema(p.schema) }))
      for (const name of stated.required ?? []) for (const p of parameters) if (p.in === 'query' && p.name === name) p.required = true
      for (const header of stated.headers ?? [])
        parameters.push({ name: header.name, in: 'header', required: header.required ?? false, description: header.description, schema: header.schema ?? { type: 'string' } })
      if (parameters.length > 0) operation.parameters = parameters

      // Routes that verify raw bytes (webhooks) have no body schema to validate with, only one to document.
      const body = route?.body ?? stated.body
      if (body && method !== 'get') {
        const schema = cleanSchema(JSON.parse(JSON.stringify(body))) as Json
        const example = schema.examples?.[0]
        operation.requestBody = {
          required: true,
          ...(schema.description ? { description: schema.description } : {}),
          content: { 'application/json': { schema, ...(example !== undefined ? { example } : {}) } },
        }
      }
      const media: Json = stated.media ?? {}
      const responses: Json = operation.responses ?? {}
      for (const [status, response] of Object.entries<Json>(responses)) {
        if (status === '204' || status === '304') {
          delete response.content
          continue
        }
        if (response.content && typeof response.content.type === 'string') delete response.content
        const types = media[status]
        if (types && response.content) {
          const schema = cleanSchema(Object.values<Json>(response.content)[0]?.schema ?? { type: 'string' })
          response.content = Object.fromEntries([types].flat().map((type) => [type, { schema }]))
        } else if (response.content)
          for (const entry of Object.values<Json>(response.content)) if (entry?.schema) entry.schema = cleanSchema(entry.schema)
      }
      operation.responses = responses
      if (!operation.security) operation.security = []
    }
  }
  return doc
}
