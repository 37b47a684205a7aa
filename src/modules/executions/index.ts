import { addressBucket, clientAddress } from '../../http/client-address'
import { Elysia, t } from 'elysia'
import { credentialKey, type Authenticate, type Principal, type AuthPlugin } from '../../http/auth'
import { badRequest, forbidden, invalidToken } from '../../http/errors'
import { documents, documentedOnly, errors, sendJson } from '../../http/schemas'
import { SECURITY } from '../../http/security'
import type { ExecutionBus } from './bus'
import { ExecutionBody, ExecutionList, ExportBody, ExportQuery, isCommit, ListQuery, RecordedExecution, StreamQuery } from './model'
import { EXPORT_MEDIA, exportStream } from './export'
import type { ExecutionStore } from './service'
import { executionStream, type StreamTiming } from './stream'
import type { StreamCaps, StreamRegistry } from './stream-registry'

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/

/** `org` and `repo` are required with the contract's exact messages, and `org` must be the caller's. */
function scope(principal: Principal, query: { org?: string; repo?: string }): { repo: string } {
  if (query.org === undefined || query.org === '') throw badRequest('missing required parameter: org')
  if (query.repo === undefined || query.repo === '') throw badRequest('missing required parameter: repo')
  if (query.org !== principal.org.slug) throw forbidden()
  return { repo: query.repo }
}

/** `since` and `until` as times (ms), the schema having checked their format. */
function timeWindow(query: { since?: string; until?: string }): { since?: number; until?: number } {
  const since = query.since === undefined ? undefined : Date.parse(query.since)
  const until = query.until === undefined ? undefined : Date.parse(query.until)
  if (since !== undefined && until !== undefined && until < since) throw badRequest('invalid query: until must not be before since')
  return { since, until }
}

/** A git ref as a branch name: `refs/heads/feat/x` → `feat/x`; other refs (tags, pull requests) as they are, at most 255 characters. */
function branchOf(ref: string | undefined): string | undefined {
  if (!ref) return undefined
  return (ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref).slice(0, 255) || undefined
}

/** `Content-Disposition` for a download: an ASCII fallback name and the exact one (RFC 6266, RFC 5987). */
function attachment(name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_')
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
}

export function executionsModule(deps: { store: ExecutionStore; bus: ExecutionBus; auth: AuthPlugin; authenticate: Authenticate; streams: StreamRegistry; streamCaps: (principal: Principal) => StreamCaps; streamTiming?: StreamTiming; trustProxy: boolean }) {
  const { store } = deps
  const requiredScope = documents({ required: ['org', 'repo'] })
  return new Elysia({ name: 'executions' })
    .use(deps.auth)
    .post(
      '/v1/executions',
      async ({ principal, body, request, set }) => {
        if (principal.kind !== 'token') throw forbidden()
        // An OIDC binding records runs of its own repository only.
        if (principal.boundRepo !== undefined && body.repo !== principal.boundRepo) throw forbidden()
        // A CI run's OIDC token names its branch and commit; an API token's run must name its branch.
        const branch = body.branch ?? branchOf(principal.run?.ref)
        if (branch === undefined) throw badRequest('invalid body: branch is required')
        const commit = body.commit ?? (principal.run?.sha !== undefined && isCommit(principal.run.sha) ? principal.run.sha : undefined)
        const key = request.headers.get('idempotency-key')
        if (key !== null && !IDEMPOTENCY_KEY.test(key)) throw badRequest('invalid header: Idempotency-Key must be 1-255 printable ASCII characters')
        const { execution, replayed } = await store.record(
          { orgId: principal.org.id, plan: principal.org.plan, tokenId: principal.tokenId, agentType: principal.agentType },
          { ...body, branch, commit },
          key,
        )
        if (replayed) set.headers['idempotent-replayed'] = 'true'
        return sendJson(set, execution, 201)
      },
      {
        auth: 'execute',
        body: ExecutionBody,
        detail: {
          tags: ['Executions'],
          summary: 'Record a run (API token with execute)',
          responses: documentedOnly({ 201: RecordedExecution, ...errors(400, 401, 402, 403, 408, 415, 422, 429) }),
          description:
            'Send `Idempotency-Key` to make retries safe: the same key returns the first result. From GitHub Actions, the run\'s OIDC token (audience `OIDC_AUDIENCE`) is accepted in place of an API token for a repository bound with `POST /v1/oidc/bindings`; a refused OIDC token answers 401 saying why.',
          security: SECURITY.token,
          ...documents({
            headers: [
              {
                name: 'Idempotency-Key',
                description: 'Makes a retried submission return the first result (kept 24 h per organisation); the same key with another body is 422',
                schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' },
              },
            ],
          }),
        },
      },
    )
    .get(
      '/v1/executions',
      ({ principal, query, set }) => {
        const { repo } = scope(principal, query)
        set.headers['content-type'] = 'application/json'
        const { since, until } = timeWindow(query)
        return store.listJson(principal.org.id, repo, { limit: query.limit ?? 10, cursor: query.cursor, branch: query.branch, commit: query.commit, since, until, order: query.order })
      },
      {
        auth: 'read',
        query: ListQuery,
        detail: {
          tags: ['Executions'],
          summary: "List a repository's executions, newest first (or oldest first), by time window, branch or commit",
          description:
            '`since` (inclusive) and `until` (exclusive) select runs by `created_at`; `order=asc` lists oldest first; `commit` finds the runs of one commit. All combine with `branch` and `cursor` (a cursor continues the walk in the order it was made with), and every page is read from an index however long the history. `total` counts all the repository\'s runs.',
          security: SECURITY.either,
          responses: documentedOnly({ 200: ExecutionList, ...errors(400, 401, 403, 429) }),
          ...requiredScope,
        },
      },
    )
    .get(
      '/v1/executions/export',
      ({ principal, query, set }) => {
        const { repo } = scope(principal, query)
        const { since, until } = timeWindow(query)
        const format = query.format ?? 'csv'
        set.headers['content-type'] = EXPORT_MEDIA[format]
        set.headers['content-disposition'] = attachment(`${principal.org.slug}-${repo}-executions.${format}`)
        set.headers['cache-control'] = 'no-store'
        return new Response(exportStream(format, store.exportPages(principal.org.id, repo, { branch: query.branch, since, until })), { headers: set.headers as Record<string, string> })
      },
      {
        auth: 'read',
        query: ExportQuery,
        detail: {
          tags: ['Executions'],
          summary: "Export a repository's whole history (CSV or NDJSON), streamed",
          description:
            'Oldest first, read and sent a page at a time, so any length of history streams in bounded memory. `since`, `until` and `branch` as in the list. Sent as an attachment (`Content-Disposition`).',
          security: SECURITY.either,
          responses: documentedOnly({ 200: ExportBody, ...errors(400, 401, 403, 429) }),
          ...documents({ required: ['org', 'repo'], media: { 200: ['text/csv', 'application/x-ndjson'] } }),
        },
      },
    )
    .get(
      '/v1/executions/stream',
      async ({ principal, query, request, server, set }) => {
        const { repo } = scope(principal, query)
        if (principal.boundRepo !== undefined && principal.boundRepo !== repo) {
          await deps.authenticate.refuse(request, server, 'ticket_for_another_repository')
          throw invalidToken()
        }
        return executionStream({
          store,
          bus: deps.bus,
          orgId: principal.org.id,
          repo,
          lastEventId: request.headers.get('last-event-id'),
          signal: request.signal,
          headers: set.headers as Record<string, string>,
          guard: {
            alive: (fresh) => deps.authenticate.stillValid(principal, fresh),
            hold: (close) => deps.streams.acquire(credentialKey(principal), principal.org.id, addressBucket(clientAddress(request, server, deps.trustProxy)), deps.streamCaps(principal), close),
          },
          timing: deps.streamTiming,
        })
      },
      {
        auth: 'stream',
        query: StreamQuery,
        response: { 200: t.String({ description: 'Server-Sent Events: `event: execution`, `id: <execution id>`, `data: <the execution as JSON>`; a comment heartbeat every 15 s' }), ...errors(400, 401, 403, 429) },
        detail: {
          tags: ['Executions'],
          summary: 'Stream new executions (Server-Sent Events)',
          description:
            'Authorization: a session or an API token with read or execute; browsers pass `ticket` from `POST /v1/stream-tickets` instead (EventSource cannot send headers).',
          security: [...SECURITY.either, {}],
          ...documents({
            required: ['org', 'repo'],
            media: { 200: 'text/event-stream' },
            headers: [{ name: 'Last-Event-ID', description: 'Replays the executions recorded after this id (EventSource sends it when it reconnects)' }],
          }),
        },
      },
    )
}
