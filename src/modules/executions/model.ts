import { t } from 'elysia'
import { Timestamp } from '../../http/schemas'
import { RepoLookup, RepoName } from '../repos/name'

const Percent = (name: string) => t.Number({ minimum: 0, maximum: 100, error: `${name} must be a number from 0 to 100` })
const Threshold = (name: string) => t.Number({ minimum: 0, maximum: 100, error: `${name} must be a number from 0 to 100` })
export const OutcomeSchema = t.Union([t.Literal('pass'), t.Literal('warn'), t.Literal('fail')], { error: 'outcome must be one of pass, warn, fail' })

/** A commit SHA as runs send it (abbreviated or whole, SHA-1 or SHA-256). */
export const COMMIT_PATTERN = '^[0-9a-fA-F]{7,64}$'
const COMMIT = new RegExp(COMMIT_PATTERN)
export const isCommit = (value: string) => COMMIT.test(value)

/** The CLI's run-state file plus the repository and branch. */
export const ExecutionBody = t.Object({
  repo: RepoName,
  branch: t.Optional(
    t.String({
      minLength: 1,
      maxLength: 255,
      error: 'branch must be a string of 1-255 characters',
      examples: ['main'],
      description: "Required with an API token; with a GitHub Actions OIDC token it defaults to the token's `ref` (`refs/heads/main` → `main`)",
    }),
  ),
  coverage: Percent('coverage'),
  baseline: t.Optional(Percent('baseline')),
  delta: t.Optional(t.Number({ minimum: -100, maximum: 100, error: 'delta must be a number from -100 to 100' })),
  outcome: t.Optional(OutcomeSchema),
  warn_threshold: t.Optional(Threshold('warn_threshold')),
  fail_threshold: t.Optional(Threshold('fail_threshold')),
  strict_mode: t.Optional(t.Boolean({ error: 'strict_mode must be true or false' })),
  commit: t.Optional(t.String({ pattern: COMMIT_PATTERN, error: 'commit must be 7-64 hex characters', description: "With a GitHub Actions OIDC token it defaults to the token's `sha`" })),
  timestamp: t.Optional(t.String({ format: 'date-time', error: 'timestamp must be an ISO 8601 date-time', description: 'When the run happened (the CLI\'s clock); stored and answered as `ran_at`' })),
}, {
  examples: [{
    repo: 'api-service', branch: 'main', outcome: 'pass', delta: 2.3, coverage: 82.3, baseline: 80.0, warn_threshold: 0.5, fail_threshold: 1.0,
    strict_mode: false, commit: '0123456789abcdef0123456789abcdef01234567', timestamp: '2026-03-18T09:00:00Z',
  }],
})

export const ExecutionItem = t.Object({
  id: t.String({ examples: ['exe_01hwk3r9btz0y5qp7njf2xcm8d'] }),
  repo: t.String(),
  branch: t.String(),
  outcome: OutcomeSchema,
  delta: t.String({ examples: ['+2.30', '-0.40', '0.00'] }),
  created_at: Timestamp,
  coverage: t.Number(),
  baseline: t.Union([t.Number(), t.Null()]),
  commit: t.Union([t.String(), t.Null()]),
})

export const RecordedExecution = t.Composite([
  ExecutionItem,
  t.Object({
    warn_threshold: t.Number(),
    fail_threshold: t.Number(),
    strict_mode: t.Boolean(),
    agent_type: t.String(),
    ran_at: t.Union([Timestamp, t.Null()], { description: 'When the run happened, as the body\'s `timestamp` said (stored with the run; null when not sent). `created_at` is when the server recorded it' }),
  }),
], { description: 'The recorded execution (or, for a replayed Idempotency-Key, the first one)' })

export const ListQuery = t.Object({
  org: t.Optional(t.String({ maxLength: 64 })),
  repo: t.Optional(RepoLookup()),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 10, error: 'limit must be an integer from 1 to 100' })),
  cursor: t.Optional(t.String({ maxLength: 200, error: 'cursor is not a cursor this API returned' })),
  branch: t.Optional(t.String({ minLength: 1, maxLength: 255, error: 'branch must be a string of 1-255 characters' })),
  since: t.Optional(t.String({ format: 'date-time', error: 'since must be an ISO 8601 date-time', description: 'Runs created at or after this time', examples: ['2026-03-01T00:00:00Z'] })),
  until: t.Optional(t.String({ format: 'date-time', error: 'until must be an ISO 8601 date-time', description: 'Runs created before this time', examples: ['2026-04-01T00:00:00Z'] })),
  order: t.Optional(t.Union([t.Literal('desc'), t.Literal('asc')], { default: 'desc', error: 'order must be asc or desc', description: 'Newest first (`desc`, the default) or oldest first' })),
  commit: t.Optional(t.String({ pattern: COMMIT_PATTERN, error: 'commit must be 7-64 hex characters', description: "Only this commit's runs (the SHA exactly as the run sent it): did my run arrive?" })),
})

export const ExportQuery = t.Object({
  org: t.Optional(t.String({ maxLength: 64 })),
  repo: t.Optional(RepoLookup()),
  format: t.Optional(t.Union([t.Literal('csv'), t.Literal('ndjson')], { default: 'csv', error: 'format must be csv or ndjson', description: 'CSV (RFC 4180, with a header row) or NDJSON (one run per line, the list\'s item shape)' })),
  branch: t.Optional(t.String({ minLength: 1, maxLength: 255, error: 'branch must be a string of 1-255 characters' })),
  since: t.Optional(t.String({ format: 'date-time', error: 'since must be an ISO 8601 date-time', description: 'Runs created at or after this time' })),
  until: t.Optional(t.String({ format: 'date-time', error: 'until must be an ISO 8601 date-time', description: 'Runs created before this time' })),
})

export const ExportBody = t.String({
  description:
    'The runs, oldest first. CSV columns: id, repo, branch, outcome, delta (a signed number), coverage, baseline, commit, created_at; a text cell that starts like a spreadsheet formula (=, +, -, @, tab, CR) is prefixed with `\'`. NDJSON: one run per line as in the list.',
})

export const ExecutionList = t.Object({
  executions: t.Array(ExecutionItem),
  total: t.Integer(),
  next_cursor: t.Union([t.String(), t.Null()]),
}, { description: "A page of runs in the asked order; `total` counts all the repository's runs, whatever the filters" })

export const StreamQuery = t.Object({
  org: t.Optional(t.String({ maxLength: 64 })),
  repo: t.Optional(RepoLookup()),
  ticket: t.Optional(t.String({ maxLength: 80, description: 'A stream ticket (`nlt_…`) in place of Authorization, for EventSource' })),
})

