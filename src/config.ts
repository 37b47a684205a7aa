/**
 * The only reader of the environment. Every variable of API.md §1 is parsed and validated here once;
 * a bad value becomes a ConfigError whose message is the single line printed at start-up.
 */
import type { Plan } from './db/schema'
import { descriptorLimit } from './lib/descriptors'

import type { LogLevel } from './lib/logger'
import { ConfigError } from './lib/config-error'

export type { LogLevel }
export { ConfigError }

export interface Config {
  port: number
  host: string
  databaseUrl: string
  /** PostgreSQL only: connections in the pool. */
  databasePoolSize: number
  /** PostgreSQL only: a statement running longer is cancelled, so no query holds a pooled connection for long. */
  databaseStatementTimeoutMs: number
  /** Where rate-limit state lives: unset = `redis` when REDIS_URL is set, else `database` on PostgreSQL (shared by instances), `memory` on SQLite. */
  rateLimitStore?: 'memory' | 'database' | 'redis'
  /** How often a shared store's local decisions are reconciled with it (ms); the overshoot bound grows with it. */
  rateLimitSyncMs: number
  /** A Redis (or Valkey) server for the shared rate limits. */
  redisUrl?: string
  /** What this server's Redis keys start with (several deployments can share one Redis). */
  redisKeyPrefix: string
  serviceToken: string | undefined
  sessionTtlSeconds: number
  tokenRotationGraceSeconds: number
  allowedOrigins: string[]
  stripe: { webhookSecret?: string; priceTeam?: string; priceEnterprise?: string }
  razorpay: { webhookSecret?: string; planTeam?: string; planEnterprise?: string }
  logLevel: LogLevel
  metricsToken: string | undefined
  /** Where users reach this server (`https://nolapse.example.com`), for the URLs it writes into embed snippets. */
  publicUrl: string | undefined
  /** OIDC issuers whose tokens may record runs (GitHub Actions by default; GitHub Enterprise Server by configuration). */
  oidcIssuers: string[]
  /** The `aud` an OIDC token must carry. */
  oidcAudience: string
  rateLimitEnterprisePerMinute: number
  rateLimitAddressPerMinute: number
  /** Beyond the contract: take the client address from the first X-Forwarded-For entry (behind a trusted proxy only). */
  trustProxy: boolean
  /** Open event streams allowed per credential, by plan (per organisation: 4 × this). */
  streamsPerCredential: Record<Plan, number>
  /** Open event streams in the whole process: half the descriptor limit (leaving at least 256) unless STREAMS_MAX says otherwise. */
  streamsMax: number
  /** Open event streams from one client address (IPv6: one /64), whatever credentials it uses. */
  streamsPerAddress: number
  /** How long a browser's stream ticket can open the event stream. */
  streamTicketTtlSeconds: number
  /** A request body that sends nothing for this long is cut off with 408. */
  bodyStallMs: number
  /** A request body must have arrived whole within this long (408 otherwise), however it trickles. */
  bodyTotalMs: number
  /** Bytes of request bodies being read at once across all requests; past it new bodies get 503. */
  bodiesInFlightBytes: number
}


export const SESSION_TTL_CAP_SECONDS = 604_800

type Env = Record<string, string | undefined>

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim()
  return value ? value : undefined
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name)
  if (raw === undefined) return fallback
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`)
  const value = Number(raw)
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`)
  return value
}

function flag(env: Env, name: string): boolean {
  const raw = optional(env, name)?.toLowerCase()
  if (raw === undefined || raw === 'false' || raw === '0') return false
  if (raw === 'true' || raw === '1') return true
  throw new ConfigError(`${name} must be true or false, got "${raw}"`)
}

function origins(env: Env): string[] {
  const raw = optional(env, 'ALLOWED_ORIGINS')
  if (!raw) return []
  const list = raw.split(',').map((o) => o.trim()).filter(Boolean)
  for (const origin of list) {
    if (origin === '*') throw new ConfigError('ALLOWED_ORIGINS must list origins explicitly; "*" is not allowed')
    if (!/^https?:\/\/[^/\s]+$/.test(origin))
      throw new ConfigError(`ALLOWED_ORIGINS entry "${origin}" must look like https://host[:port] with no path`)
  }
  return list
}

function publicUrl(env: Env): string | undefined {
  const raw = optional(env, 'PUBLIC_URL')
  if (raw === undefined) return undefined
  if (!/^https?:\/\/[^/\s?#]+(\/[^\s?#]*)?$/.test(raw)) throw new ConfigError(`PUBLIC_URL must look like https://host[:port][/path], got "${raw}"`)
  return raw.replace(/\/+$/, '')
}

function oidcIssuers(env: Env): string[] {
  const raw = optional(env, 'OIDC_ISSUERS') ?? 'https://token.actions.githubusercontent.com'
  const list = raw.split(',').map((issuer) => issuer.trim().replace(/\/+$/, '')).filter(Boolean)
  for (const issuer of list) if (!/^https?:\/\/[^\s?#]+$/.test(issuer)) throw new ConfigError(`OIDC_ISSUERS entry "${issuer}" must be an issuer URL (https://host[/path])`)
  return list
}

function logLevel(env: Env): LogLevel {
  const raw = optional(env, 'LOG_LEVEL') ?? 'info'
  if (raw === 'debug' || raw === 'info' || raw === 'warn' || raw === 'error') return raw
  throw new ConfigError(`LOG_LEVEL must be one of debug, info, warn, error, got "${raw}"`)
}

function rateLimitStore(env: Env): Config['rateLimitStore'] {
  const raw = optional(env, 'RATE_LIMIT_STORE')
  if (raw === 'redis' && optional(env, 'REDIS_URL') === undefined) throw new ConfigError('RATE_LIMIT_STORE=redis needs REDIS_URL')
  if (raw === undefined || raw === 'memory' || raw === 'database' || raw === 'redis') return raw
  throw new ConfigError(`RATE_LIMIT_STORE must be memory, database or redis, got "${raw}"`)
}

function keyPrefix(env: Env): string {
  const raw = optional(env, 'REDIS_KEY_PREFIX') ?? 'nolapse:rl:'
  if (!/^[\x21-\x7e]{1,64}$/.test(raw)) throw new ConfigError('REDIS_KEY_PREFIX must be 1-64 printable ASCII characters')
  return raw
}

function redisUrl(env: Env): string | undefined {
  const raw = optional(env, 'REDIS_URL')
  if (raw === undefined) return undefined
  let protocol = ''
  try {
    protocol = new URL(raw).protocol
  } catch {
    // reported below, without echoing the value (it may hold a password)
  }
  if (!['redis:', 'rediss:', 'valkey:', 'valkeys:'].includes(protocol)) throw new ConfigError('REDIS_URL must be a redis://, rediss://, valkey:// or valkeys:// URL')
  return raw
}

/**
 * Streams may take half the descriptors, and never the last 256: those stay for /health, other clients'
 * requests, the database and whatever the process opens later (a package, a worker).
 */
export function defaultStreamsMax(descriptors: number): number {
  return Math.max(16, Math.min(Math.floor(descriptors / 2), descriptors - 256))
}

/** Reads and validates the whole configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = Bun.env): Config {
  return {
    port: integer(env, 'PORT', 8080, 0, 65_535),
    host: optional(env, 'HOST') ?? '0.0.0.0',
    databaseUrl: optional(env, 'DATABASE_URL') ?? './data/nolapse.db',
    databasePoolSize: integer(env, 'DATABASE_POOL_SIZE', 10, 1, 1000),
    databaseStatementTimeoutMs: integer(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
    serviceToken: optional(env, 'SERVICE_TOKEN'),
    sessionTtlSeconds: Math.min(integer(env, 'SESSION_TTL_SECONDS', 86_400, 60, Number.MAX_SAFE_INTEGER), SESSION_TTL_CAP_SECONDS),
    tokenRotationGraceSeconds: integer(env, 'TOKEN_ROTATION_GRACE_SECONDS', 86_400, 0, 31_536_000),
    allowedOrigins: origins(env),
    stripe: {
      webhookSecret: optional(env, 'STRIPE_WEBHOOK_SECRET'),
      priceTeam: optional(env, 'STRIPE_PRICE_TEAM'),
      priceEnterprise: optional(env, 'STRIPE_PRICE_ENTERPRISE'),
    },
    razorpay: {
      webhookSecret: optional(env, 'RAZORPAY_WEBHOOK_SECRET'),
      planTeam: optional(env, 'RAZORPAY_PLAN_TEAM'),
      planEnterprise: optional(env, 'RAZORPAY_PLAN_ENTERPRISE'),
    },
    logLevel: logLevel(env),
    metricsToken: optional(env, 'METRICS_TOKEN'),
    publicUrl: publicUrl(env),
    oidcIssuers: oidcIssuers(env),
    oidcAudience: optional(env, 'OIDC_AUDIENCE') ?? 'nolapse',
    rateLimitEnterprisePerMinute: integer(env, 'RATE_LIMIT_ENTERPRISE_PER_MINUTE', 6000, 1, 10_000_000),
    rateLimitAddressPerMinute: integer(env, 'RATE_LIMIT_ADDRESS_PER_MINUTE', 600, 1, 10_000_000),
    rateLimitStore: rateLimitStore(env),
    rateLimitSyncMs: integer(env, 'RATE_LIMIT_SYNC_MS', 50, 1, 10_000),
    redisUrl: redisUrl(env),
    redisKeyPrefix: keyPrefix(env),
    trustProxy: flag(env, 'TRUST_PROXY'),
    streamsPerCredential: {
      free: integer(env, 'STREAMS_PER_CREDENTIAL_FREE', 5, 1, 100_000),
      team: integer(env, 'STREAMS_PER_CREDENTIAL_TEAM', 50, 1, 100_000),
      enterprise: integer(env, 'STREAMS_PER_CREDENTIAL_ENTERPRISE', 500, 1, 100_000),
    },
    streamsMax: integer(env, 'STREAMS_MAX', defaultStreamsMax(descriptorLimit()), 1, 10_000_000),
    streamsPerAddress: integer(env, 'STREAMS_PER_ADDRESS', 100, 1, 10_000_000),
    streamTicketTtlSeconds: integer(env, 'STREAM_TICKET_TTL_SECONDS', 300, 10, 86_400),
    bodyStallMs: integer(env, 'REQUEST_BODY_STALL_SECONDS', 5, 1, 300) * 1000,
    bodyTotalMs: integer(env, 'REQUEST_BODY_TIMEOUT_SECONDS', 30, 1, 3600) * 1000,
    bodiesInFlightBytes: integer(env, 'REQUEST_BODIES_IN_FLIGHT_MB', 64, 2, 65_536) * 1024 * 1024,
  }
}
