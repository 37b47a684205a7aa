import type { Config } from '../config'
import type { Db, SqliteDb } from '../db/client'
import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Plan } from '../db/schema'
import { run } from '../db/work'
import { systemClock } from '../lib/clock'
import { createLogger } from '../lib/logger'
import { HttpError } from '../http/errors'
import { recordAudit } from '../modules/audit/service'
import { ensureOrganisation, findOrgBySlug, SLUG_PATTERN } from '../modules/orgs/service'
import { sweepRetention } from '../modules/retention/service'
import { createSessionService } from '../modules/sessions/service'
import { createTokenService } from '../modules/tokens/service'
import { createTokenVerifier } from '../modules/tokens/verifier'

export interface CliOptions {
  plan?: Plan
  name?: string
  org?: string
  user?: string
  scopes?: string
  agentType?: string
}

/** A usage mistake: printed as one line, exit code 1. */
class UsageError extends Error {}

async function orgOrFail(db: Db, slug: string | undefined) {
  if (!slug) throw new UsageError('--org <slug> is required')
  const org = await db.read(findOrgBySlug(slug))
  if (!org) throw new UsageError(`no organisation with slug "${slug}" (create it with: bun run cli org create ${slug})`)
  return org
}

/** Runs one command and returns what to print. Uses the same services as the HTTP API, so the same rules apply. */
export async function runCommand(db: Db, config: Config, args: string[], options: CliOptions): Promise<string> {
  // Audit and log lines go to stderr so that stdout carries only the answer (a secret can be captured with $(…)).
  const logger = createLogger(config.logLevel, (line) => process.stderr.write(line + '\n'))
  const now = systemClock.now()
  const [command, sub, arg] = args
  const key = sub && command !== 'migrate' && command !== 'purge' && command !== 'backup' ? `${command} ${sub}` : command
  switch (key) {
    case 'org create': {
      if (!arg || !new RegExp(SLUG_PATTERN).test(arg)) throw new UsageError(`org create <slug>: the slug must match ${SLUG_PATTERN}`)
      const plan = options.plan ?? 'free'
      const { org, lines } = await db.tx(
        (function* () {
          const { org, created } = yield* ensureOrganisation(now, arg, options.name, plan)
          const lines: string[] = []
          if (created) lines.push(yield* recordAudit(now, { action: 'org.create', fields: { org_id: org.id, slug: org.slug, plan }, orgId: org.id, actor: 'cli', target: org.id }))
          else if (org.plan !== plan && options.plan) {
            yield* run('UPDATE organisations SET plan = ? WHERE id = ?', [plan, org.id])
            lines.push(yield* recordAudit(now, { action: 'billing.plan_change', fields: { org_id: org.id, from: org.plan, to: plan, provider: 'cli' }, orgId: org.id, actor: 'cli', target: org.id }))
          }
          return { org: { ...org, plan: options.plan ?? org.plan }, lines }
        })(),
      )
      for (const line of lines) logger.audit(line)
      return `organisation ${org.slug} (${org.id}) on the ${org.plan} plan`
    }
    case 'session create': {
      const org = await orgOrFail(db, options.org)
      const session = await createSessionService(db, { now: () => now }, logger).create({ userId: options.user ?? 'cli', orgSlug: org.slug, ttlSeconds: config.sessionTtlSeconds, remote: 'cli' })
      return session.token
    }
    case 'token create': {
      const org = await orgOrFail(db, options.org)
      if (!options.name) throw new UsageError('--name <name> is required')
      const scopes = (options.scopes ?? 'execute').split(',').map((s) => s.trim())
      if (scopes.some((s) => s !== 'execute' && s !== 'read' && s !== 'badge')) throw new UsageError('--scopes takes execute, read and/or badge')
      if (scopes.includes('badge') && new Set(scopes).size > 1) throw new UsageError('--scopes: badge cannot be combined with another scope')
      const agentType = options.agentType ?? ''
      if (!/^[a-z0-9_]{0,32}$/.test(agentType)) throw new UsageError('--agent-type must match ^[a-z0-9_]{0,32}$')
      try {
        const tokens = createTokenService({ db, clock: systemClock, logger, verifier: createTokenVerifier(db, systemClock), graceSeconds: config.tokenRotationGraceSeconds })
        const token = await tokens.create(
          { orgId: org.id, plan: org.plan, actor: 'cli', remote: 'cli' },
          { name: options.name, scopes, agentType },
        )
        return token.secret
      } catch (error) {
        if (error instanceof HttpError) throw new UsageError(error.message)
        throw error
      }
    }
    case 'migrate':
      // connectDatabase has applied every migration (drizzle/sqlite/ or drizzle/pg/) by now.
      return 'migrations applied'
    case 'backup': {
      // A consistent copy while the server runs: SQLite's VACUUM INTO reads one snapshot (WAL included) and
      // writes a new, compact file; copying the database file alone can miss what is still in the WAL.
      if (!sub) throw new UsageError('backup <file>: name the file to write (it must not exist)')
      if (db.dialect !== 'sqlite') throw new UsageError('backup works on SQLite; on PostgreSQL use pg_dump (docs/operations.md)')
      const target = resolve(sub)
      if (existsSync(target)) throw new UsageError(`backup <file>: ${target} exists; name a new file`)
      ;(db as SqliteDb).sqlite.run('VACUUM INTO ?', [target])
      return `backed up to ${target} (${statSync(target).size} bytes)`
    }
    case 'purge': {
      const result = await sweepRetention(db, now)
      return `deleted ${result.executions} expired executions, ${result.idempotencyKeys} idempotency keys, ${result.sessions} expired sessions`
    }
    default:
      throw new UsageError(`unknown command "${args.join(' ')}"; run: bun run cli help`)
  }
}
