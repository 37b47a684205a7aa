import { sql } from 'drizzle-orm'
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'

/* Times are stored as integer milliseconds since the epoch (UTC) and formatted at the edge. */

export const PLANS = ['free', 'team', 'enterprise'] as const
export type Plan = (typeof PLANS)[number]

export const organisations = sqliteTable('organisations', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  plan: text('plan', { enum: PLANS }).notNull().default('free'),
  billingStatus: text('billing_status', { enum: ['active', 'past_due'] }).notNull().default('active'),
  stripeCustomerId: text('stripe_customer_id'),
  razorpayCustomerId: text('razorpay_customer_id'),
  /** The subscription a billing event names decides its organisation before the customer does (see billing/service.ts). */
  stripeSubscriptionId: text('stripe_subscription_id'),
  razorpaySubscriptionId: text('razorpay_subscription_id'),
  /** `created` time of the newest billing event applied, so an older event delivered late cannot roll the plan back. */
  planEventAt: integer('plan_event_at').notNull().default(0),
  createdAt: integer('created_at').notNull(),
}, (t) => [
  index('organisations_stripe_customer_idx').on(t.stripeCustomerId),
  index('organisations_razorpay_customer_idx').on(t.razorpayCustomerId),
  index('organisations_stripe_subscription_idx').on(t.stripeSubscriptionId),
  index('organisations_razorpay_subscription_idx').on(t.razorpaySubscriptionId),
])

export const sessions = sqliteTable('sessions', {
  id: text('id').primaryKey(),
  tokenHash: text('token_hash').notNull().unique(),
  userId: text('user_id').notNull(),
  orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
  expiresAt: integer('expires_at').notNull(),
  createdAt: integer('created_at').notNull(),
}, (t) => [index('sessions_expires_idx').on(t.expiresAt)])

export const TOKEN_STATUSES = ['active', 'rotating', 'revoked'] as const
export type TokenStatus = (typeof TOKEN_STATUSES)[number]

export const apiTokens = sqliteTable('api_tokens', {
  id: text('id').primaryKey(),
  orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  secretHash: text('secret_hash').notNull(),
  scopes: text('scopes', { mode: 'json' }).$type<string[]>().notNull(),
  agentType: text('agent_type').notNull().default(''),
  /** Stored status; a `rotating` token whose grace has ended reads as `revoked` (see tokens/status.ts). */
  status: text('status', { enum: TOKEN_STATUSES }).notNull().default('active'),
  graceEndsAt: integer('grace_ends_at'),
  replacedBy: text('replaced_by'),
  createdAt: integer('created_at').notNull(),
  lastUsedAt: integer('last_used_at'),
}, (t) => [
  index('api_tokens_org_idx').on(t.orgId, t.createdAt),
  // Tokens are looked up by the SHA-256 of the whole secret: nothing public narrows a guess.
  uniqueIndex('api_tokens_secret_hash_idx').on(t.secretHash),
])

export const repositories = sqliteTable('repositories', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  defaultBranch: text('default_branch').notNull().default('main'),
  private: integer('private', { mode: 'boolean' }).notNull().default(false),
  /** Exact number of executions, kept in the same transaction as every insert and deletion. */
  executionCount: integer('execution_count').notNull().default(0),
  /** Bumped with every insert and deletion of its executions: cached list pages are valid while it holds. */
  version: integer('version').notNull().default(0),
  /** Badge settings as JSON (`modules/repos/badge-settings.ts`); null: the defaults. */
  badge: text('badge'),
  createdAt: integer('created_at').notNull(),
}, (t) => [uniqueIndex('repositories_org_name_idx').on(t.orgId, t.name), index('repositories_org_created_idx').on(t.orgId, t.createdAt, t.id)])

export const OUTCOMES = ['pass', 'warn', 'fail'] as const
export type Outcome = (typeof OUTCOMES)[number]

export const executions = sqliteTable('executions', {
  /** `exe_<ulid>`: the ULID carries the creation time, so ordering by id is ordering by creation. */
  id: text('id').primaryKey(),
  repoId: integer('repo_id').notNull().references(() => repositories.id, { onDelete: 'cascade' }),
  orgId: text('org_id').notNull(),
  branch: text('branch').notNull(),
  outcome: text('outcome', { enum: OUTCOMES }).notNull(),
  delta: real('delta').notNull(),
  coverage: real('coverage').notNull(),
  baseline: real('baseline'),
  warnThreshold: real('warn_threshold').notNull(),
  failThreshold: real('fail_threshold').notNull(),
  strictMode: integer('strict_mode', { mode: 'boolean' }).notNull().default(false),
  commit: text('commit'),
  runAt: integer('run_at'),
  agentType: text('agent_type').notNull().default(''),
  tokenId: text('token_id'),
  createdAt: integer('created_at').notNull(),
}, (t) => [
  // Covering index: the list, newest first, is read from the index alone, however large the repository.
  index('executions_repo_list_idx').on(t.repoId, t.id, t.branch, t.outcome, t.delta, t.coverage, t.baseline, t.commit, t.createdAt),
  // Badges and trend graphs read coverage by branch from here without touching the table.
  index('executions_repo_branch_id_idx').on(t.repoId, t.branch, t.id, t.coverage),
  // `GET /v1/executions?commit=`: did this commit's run arrive? One repository's runs of one commit.
  index('executions_repo_commit_idx').on(t.repoId, t.commit, t.id),
  // Analytics windows and the retention sweep, per organisation.
  index('executions_org_created_idx').on(t.orgId, t.createdAt),
])

/**
 * Per organisation, UTC day, repository and agent: run counts and the coverage sum. Kept in the same
 * transaction as every insert and deletion of executions, so analytics read days × repos × agents rows
 * instead of scanning a long history.
 */
export const dailyRollups = sqliteTable('daily_rollups', {
  orgId: text('org_id').notNull(),
  day: integer('day').notNull(),
  repoId: integer('repo_id').notNull().references(() => repositories.id, { onDelete: 'cascade' }),
  agentType: text('agent_type').notNull(),
  executions: integer('executions').notNull(),
  pass: integer('pass').notNull(),
  warn: integer('warn').notNull(),
  fail: integer('fail').notNull(),
  coverageSum: real('coverage_sum').notNull(),
}, (t) => [primaryKey({ columns: [t.orgId, t.day, t.repoId, t.agentType] })])

export const webhookEvents = sqliteTable('webhook_events', {
  provider: text('provider', { enum: ['stripe', 'razorpay'] }).notNull(),
  eventId: text('event_id').notNull(),
  type: text('type').notNull(),
  orgId: text('org_id'),
  eventCreatedAt: integer('event_created_at'),
  result: text('result').notNull(),
  receivedAt: integer('received_at').notNull(),
  /**
   * SHA-256 of the signed raw body. Razorpay does not sign its event-id header, so a captured delivery
   * replayed under a new id is caught here: a body is recorded and applied at most once.
   */
  payloadHash: text('payload_hash'),
}, (t) => [primaryKey({ columns: [t.provider, t.eventId] }), uniqueIndex('webhook_events_payload_idx').on(t.provider, t.payloadHash)])

export const auditEvents = sqliteTable('audit_events', {
  id: text('id').primaryKey(),
  orgId: text('org_id'),
  action: text('action').notNull(),
  actor: text('actor').notNull(),
  target: text('target'),
  metadata: text('metadata', { mode: 'json' }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
  remote: text('remote'),
  createdAt: integer('created_at').notNull(),
}, (t) => [index('audit_events_org_id_idx').on(t.orgId, t.id)])

export const idempotencyKeys = sqliteTable('idempotency_keys', {
  orgId: text('org_id').notNull(),
  key: text('key').notNull(),
  /** Hash of the request body: the same key with another body is a client error, not a replay. */
  requestHash: text('request_hash').notNull(),
  executionId: text('execution_id').notNull(),
  createdAt: integer('created_at').notNull(),
}, (t) => [primaryKey({ columns: [t.orgId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)])

/**
 * Short-lived, read-only credentials for one repository's event stream, for browsers (EventSource cannot
 * send Authorization). Only the SHA-256 of the ticket is kept; `parent` is the credential that asked for
 * it (`t:<token id>` or `s:<session id>`), and the ticket ends with it.
 */
export const streamTickets = sqliteTable('stream_tickets', {
  ticketHash: text('ticket_hash').primaryKey(),
  orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
  repo: text('repo').notNull(),
  parent: text('parent').notNull(),
  expiresAt: integer('expires_at').notNull(),
  createdAt: integer('created_at').notNull(),
}, (t) => [index('stream_tickets_expires_idx').on(t.expiresAt)])

/**
 * Rate-limit state shared by the instances on one database (GCRA: the theoretical arrival time of a
 * key's next request, ms). Used when RATE_LIMIT_STORE is `database` (the default on PostgreSQL); rows
 * whose time has passed mean "full allowance" and are deleted by the retention sweep.
 */
export const rateLimits = sqliteTable('rate_limits', {
  key: text('key').primaryKey(),
  tat: integer('tat').notNull(),
})

/**
 * One row per open event stream on any instance, so that the per-credential and per-organisation stream
 * caps hold across instances (used on PostgreSQL; one SQLite process counts in memory). Each instance
 * pushes its rows' `expires_at` forward while the streams stay open; a row whose instance died stops
 * counting when it expires and is deleted by the next check of its organisation.
 */
export const streamLeases = sqliteTable('stream_leases', {
  id: text('id').primaryKey(),
  instance: text('instance').notNull(),
  credential: text('credential').notNull(),
  orgId: text('org_id').notNull(),
  expiresAt: integer('expires_at').notNull(),
}, (t) => [index('stream_leases_org_idx').on(t.orgId), index('stream_leases_instance_idx').on(t.instance)])

/** `defaultBranch` → `default_branch`: a column's SQL name from its TypeScript name. */
type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S

/**
 * A table's row as our SQL reads and writes it (snake_case columns), derived from the drizzle table, so a
 * column added or retyped here is one change: `Row<typeof repositories.$inferSelect>`.
 */
export type Row<T> = { [K in keyof T as SnakeCase<K & string>]-?: Exclude<T[K], undefined> }

/** Tokenless CI: a GitHub repository (by name, then by its immutable ids) allowed to record runs of one of ours. */
export const oidcBindings = sqliteTable('oidc_bindings', {
  id: text('id').primaryKey(),
  orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull(),
  /** `owner/name`, lower-case (GitHub's names are case-insensitive). */
  repository: text('repository').notNull(),
  /** Our repository the runs are recorded in. */
  repo: text('repo').notNull(),
  workflow: text('workflow'),
  environment: text('environment'),
  /** GitHub's immutable ids, from the body or the first verified token: a recreated or transferred repository differs. */
  repositoryId: text('repository_id'),
  repositoryOwnerId: text('repository_owner_id'),
  createdAt: integer('created_at').notNull(),
}, (t) => [uniqueIndex('oidc_bindings_repository_idx').on(t.provider, t.repository), index('oidc_bindings_org_idx').on(t.orgId, t.createdAt)])
