import { PLAN_LIMITS } from '../plans'
import { DEFAULT_BADGE } from '../repos/badge-settings'
import type { Json } from '../../http/schemas'

/*
 * docs/api.md, the repository's own API reference, written from the OpenAPI document the server serves
 * and from the plan table the server enforces, so it cannot say other than the server does
 * (`bun run docs:api` writes it; tests/docs.test.ts fails when the committed file differs).
 */

const cell = (text: unknown) => String(text ?? '').replaceAll('|', '\\|').replaceAll('\n', ' ')
const limit = (n: number | null) => (n === null ? 'unlimited' : String(n))

function schemaText(schema: Json | undefined): string {
  if (!schema) return ''
  if (schema.enum) return schema.enum.map((v: unknown) => `\`${v}\``).join(' or ')
  if (schema.anyOf) return schema.anyOf.map(schemaText).join(' or ')
  const bounds = [schema.minimum !== undefined ? `≥ ${schema.minimum}` : '', schema.maximum !== undefined ? `≤ ${schema.maximum}` : '', schema.maxLength !== undefined ? `≤ ${schema.maxLength} chars` : '']
    .filter(Boolean)
    .join(', ')
  return `${schema.type ?? 'value'}${schema.format ? ` (${schema.format})` : ''}${bounds ? `, ${bounds}` : ''}`
}

function security(operation: Json): string {
  const schemes = (operation.security ?? []) as Json[]
  const names = schemes.flatMap((s) => Object.keys(s))
  if (names.length === 0) return 'none (public)'
  const words: Record<string, string> = { sessionToken: 'session', apiToken: 'API token', serviceToken: 'service token', metricsToken: 'metrics token' }
  return [...new Set(names.map((n) => words[n] ?? n))].join(' or ') + (schemes.some((s) => Object.keys(s).length === 0) ? ' (or none: see below)' : '')
}

/** The whole reference as Markdown. */
export function apiReference(doc: Json): string {
  const out: string[] = [
    '# API reference',
    '',
    `Version ${doc.info.version}. Written by \`bun run docs:api\` from the OpenAPI document the server serves at \`/swagger/json\``,
    '(Swagger UI at `/swagger`) and from the limits it enforces; a test fails when this file and the server disagree.',
    '',
    '## Conventions',
    '',
    '- Bodies are JSON; every error, of every status, is `{"error":"…"}`, a validation error naming the field.',
    '- Credentials go in `Authorization: Bearer …`: a **session** (`nls_…`, the dashboard), an **API token**',
    '  (`nlp_…`, CI) with scopes `execute` (submit and read runs), `read` (read runs, repositories, private',
    '  badges) or `badge` (only the badge and trend graph of private repositories), or the front end\'s',
    '  **service token** (`POST /v1/sessions/create` only).',
    '- Every response carries `X-Request-ID`, `Vary: Origin` and `X-Content-Type-Options: nosniff`; limited',
    '  responses carry `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, and 429 adds `Retry-After`.',
    `- Badge colours by default: ≥ ${DEFAULT_BADGE.green} green, ${DEFAULT_BADGE.yellow}-${DEFAULT_BADGE.green - 1} yellow, < ${DEFAULT_BADGE.yellow} red, no data grey \`unknown\`; each repository may set its own (\`PATCH /v1/repos/{repo}\`).`,
    '',
    '## Plans',
    '',
    '| | free | team | enterprise |',
    '|---|---|---|---|',
    `| repositories | ${limit(PLAN_LIMITS.free.repos)} | ${limit(PLAN_LIMITS.team.repos)} | ${limit(PLAN_LIMITS.enterprise.repos)} |`,
    `| tokens (active + rotating) | ${limit(PLAN_LIMITS.free.tokens)} | ${limit(PLAN_LIMITS.team.tokens)} | ${limit(PLAN_LIMITS.enterprise.tokens)} |`,
    `| execution history | ${PLAN_LIMITS.free.retentionDays} days | ${PLAN_LIMITS.team.retentionDays} days | ${PLAN_LIMITS.enterprise.retentionDays} days |`,
    '| requests / minute per credential | 60 | 600 | 6000 (`RATE_LIMIT_ENTERPRISE_PER_MINUTE`) |',
    `| analytics | ${PLAN_LIMITS.free.analytics ? 'yes' : '–'} | ${PLAN_LIMITS.team.analytics ? 'yes' : '–'} | ${PLAN_LIMITS.enterprise.analytics ? 'yes' : '–'} |`,
    `| audit log API | ${PLAN_LIMITS.free.auditLog ? 'yes' : '–'} | ${PLAN_LIMITS.team.auditLog ? 'yes' : '–'} | ${PLAN_LIMITS.enterprise.auditLog ? 'yes' : '–'} |`,
    '',
    'A paid feature on a lower plan answers 402 naming the plan needed. Unauthenticated routes are limited per',
    'client address (`RATE_LIMIT_ADDRESS_PER_MINUTE`); `/health`, badges and trend graphs are not limited.',
  ]
  const tags = new Map<string, string[]>()
  for (const [path, methods] of Object.entries<Json>(doc.paths)) {
    for (const [method, operation] of Object.entries<Json>(methods)) {
      const tag = (operation.tags?.[0] as string | undefined) ?? 'Other'
      const lines: string[] = ['', `### ${method.toUpperCase()} \`${path}\``, '', operation.summary ?? '']
      if (operation.description) lines.push('', operation.description)
      lines.push('', `Authorization: ${security(operation)}.`)
      const parameters = (operation.parameters ?? []) as Json[]
      if (parameters.length) {
        lines.push('', '| parameter | in | required | type | description |', '|---|---|---|---|---|')
        for (const p of parameters) lines.push(`| \`${p.name}\` | ${p.in} | ${p.required ? 'yes' : 'no'} | ${cell(schemaText(p.schema))} | ${cell(p.description ?? p.schema?.description)} |`)
      }
      const body = operation.requestBody?.content?.['application/json'] as Json | undefined
      if (body?.example !== undefined) lines.push('', 'Body, for example:', '', '```json', JSON.stringify(body.example), '```')
      const responses = Object.entries<Json>(operation.responses ?? {})
      lines.push('', '| status | meaning |', '|---|---|')
      for (const [status, response] of responses) {
        const types = Object.keys(response.content ?? {})
        lines.push(`| ${status} | ${cell(response.description)}${types.length && !(types.length === 1 && types[0] === 'application/json') ? ` (${types.join(', ')})` : ''} |`)
      }
      tags.set(tag, [...(tags.get(tag) ?? []), ...lines])
    }
  }
  for (const [tag, lines] of tags) out.push('', `## ${tag}`, ...lines)
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n')}\n`
}
