import { sql } from 'drizzle-orm'
import { bigint, boolean, customType, doublePrecision, index, integer, pgTable, primaryKey, uniqueIndex } from 'drizzle-orm/pg-core'

/*
 * The PostgreSQL twin of schema.ts: the same tables, columns, keys and indexes, so one SQL text serves
 * both backends. Differences of type only:
 * - text is `COLLATE "C"` (byte order, as SQLite compares): ids sort as they were minted and cursors
 *   compare the same on both backends, whatever the database's locale;
 * - times are `bigint` milliseconds (read back as numbers), floats are `double precision`, flags `boolean`;
 * - JSON stays text (scopes, audit metadata), parsed where it is read, as on SQLite.
 */
const text = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' })
const ms = (name: string) => bigint(name, { mode: 'number' })

export const organisations = pgTable('organisations', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  plan: text('plan').notNull().default('free'),
  billingStatus: text('billing_status').notNull().default('active'),
  stripeCustomerId: text('stripe_customer_id'),
  razorpayCustomerId: text('razorpay_customer_id'),
  stripeSubscriptionId: text('stripe_subscription_id'),
  razorpaySubscriptionId: text('razorpay_subscription_id'),
  planEventAt: ms('plan_event_at').notNull().default(0),
  createdAt: ms('created_at').notNull(),
}, (t) => [
  index('organisations_stripe_customer_idx').on(t.stripeCustomerId),
  index('organisations_razorpay_customer_idx').on(t.razorpayCustomerId),
  index('organisations_stripe_subscription_idx').on(t.stripeSubscriptionId),
  index('organisations_razorpay_subscription_idx').on(t.razorpaySubscriptionId),
])

export const sessions = pgTable('sessions', {
  id: text('id').primaryKey(),
  tokenHash: text('token_hash').notNull().unique(),
  userId: text('user_id').notNull(),
  orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
  expiresAt: ms('expires_at').notNull(),
  createdAt: ms('created_at').notNull(),
}, (t) => [index('sessions_expires_idx').on(t.expiresAt)])

export const apiTokens = pgTable('api_tokens', {
  id: text('id').primaryKey(),
  orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  secretHash: text('secret_hash').notNull(),
  scopes: text('scopes').notNull(),
  agentType: text('agent_type').notNull().default(''),
  status: text('status').notNull().default('active'),
  graceEndsAt: ms('grace_ends_at'),
  replacedBy: text('replaced_by'),
  createdAt: ms('created_at').notNull(),
  lastUsedAt: ms('last_used_at'),
}, (t) => [index('api_tokens_org_idx').on(t.orgId, t.createdAt), uniqueIndex('api_tokens_secret_hash_idx').on(t.secretHash)])

export const repositories = pgTable('repositories', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
  name: text('name').notNull(),
  defaultBranch: text('default_branch').notNull().default('main'),
  private: boolean('private').notNull().default(false),
  executionCount: integer('execution_count').notNull().default(0),
  version: integer('version').notNull().default(0),
  badge: text('badge'),
  createdAt: ms('created_at').notNull(),
}, (t) => [uniqueIndex('repositories_org_name_idx').on(t.orgId, t.name), index('repositories_org_created_idx').on(t.orgId, t.createdAt, t.id)])

export const executions = pgTable('executions', {
  id: text('id').primaryKey(),
  repoId: integer('repo_id').notNull().references(() => repositories.id, { onDelete: 'cascade' }),
  orgId: text('org_id').notNull(),
  branch: text('branch').notNull(),
  outcome: text('outcome').notNull(),
  delta: doublePrecision('delta').notNull(),
  coverage: doublePrecision('coverage').notNull(),
  baseline: doublePrecision('baseline'),
  warnThreshold: doublePrecision('warn_threshold').notNull(),
  failThreshold: doublePrecision('fail_threshold').notNull(),
  strictMode: boolean('strict_mode').notNull().default(false),
  commit: text('commit'),
  runAt: ms('run_at'),
  agentType: text('agent_type').notNull().default(''),
  tokenId: text('token_id'),
  createdAt: ms('created_at').notNull(),
}, (t) => [
  index('executions_repo_list_idx').on(t.repoId, t.id, t.branch, t.outcome, t.delta, t.coverage, t.baseline, t.commit, t.createdAt),
  index('executions_repo_branch_id_idx').on(t.repoId, t.branch, t.id, t.coverage),
  index('executions_repo_commit_idx').on(t.repoId, t.commit, t.id),
  index('executions_org_created_idx').on(t.orgId, t.createdAt),
])

export const dailyRollups = pgTable('daily_rollups', {
  orgId: text('org_id').notNull(),
  day: integer('day').notNull(),
  repoId: integer('repo_id').notNull().references(() => repositories.id, { onDelete: 'cascade' }),
  agentType: text('agent_type').notNull(),
  executions: integer('executions').notNull(),
  pass: integer('pass').notNull(),
  warn: integer('warn').notNull(),
  fail: integer('fail').notNull(),
  coverageSum: doublePrecision('coverage_sum').notNull(),
}, (t) => [primaryKey({ columns: [t.orgId, t.day, t.repoId, t.agentType] })])

export const webhookEvents = pgTable('webhook_events', {
  provider: text('provider').notNull(),
  eventId: text('event_id').notNull(),
  type: text('type').notNull(),
  orgId: text('org_id'),
  eventCreatedAt: ms('event_created_at'),
  result: text('result').notNull(),
  receivedAt: ms('received_at').notNull(),
  payloadHash: text('payload_hash'),
}, (t) => [primaryKey({ columns: [t.provider, t.eventId] }), uniqueIndex('webhook_events_payload_idx').on(t.provider, t.payloadHash)])

export const auditEvents = pgTable('audit_events', {
  id: text('id').primaryKey(),
  orgId: text('org_id'),
  action: text('action').notNull(),
  actor: text('actor').notNull(),
  target: text('target'),
  metadata: text('metadata').notNull().default(sql`'{}'`),
  remote: text('remote'),
  createdAt: ms('created_at').notNull(),
}, (t) => [index('audit_events_org_id_idx').on(t.orgId, t.id)])

export const idempotencyKeys = pgTable('idempotency_keys', {
  orgId: text('org_id').notNull(),
  key: text('key').notNull(),
  requestHash: text('request_hash').notNull(),
  executionId: text('execution_id').notNull(),
  createdAt: ms('created_at').notNull(),
}, (t) => [primaryKey({ columns: [t.orgId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)])

export const streamTickets = pgTable('stream_tickets', {
  ticketHash: text('ticket_hash').primaryKey(),
  orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
  repo: text('repo').notNull(),
  parent: text('parent').notNull(),
  expiresAt: ms('expires_at').notNull(),
  createdAt: ms('created_at').notNull(),
}, (t) => [index('stream_tickets_expires_idx').on(t.expiresAt)])

export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  tat: ms('tat').notNull(),
})

export const streamLeases = pgTable('stream_leases', {
  id: text('id').primaryKey(),
  instance: text('instance').notNull(),
  credential: text('credential').notNull(),
  orgId: text('org_id').notNull(),
  expiresAt: ms('expires_at').notNull(),
}, (t) => [index('stream_leases_org_idx').on(t.orgId), index('stream_leases_instance_idx').on(t.instance)])

export const oidcBindings = pgTable('oidc_bindings', {
  id: text('id').primaryKey(),
  orgId: text('org_id').notNull().references(() => organisations.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull(),
  repository: text('repository').notNull(),
  repo: text('repo').notNull(),
  workflow: text('workflow'),
  environment: text('environment'),
  repositoryId: text('repository_id'),
  repositoryOwnerId: text('repository_owner_id'),
  createdAt: ms('created_at').notNull(),
}, (t) => [uniqueIndex('oidc_bindings_repository_idx').on(t.provider, t.repository), index('oidc_bindings_org_idx').on(t.orgId, t.createdAt)])
