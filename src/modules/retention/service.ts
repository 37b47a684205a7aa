import type { Db } from '../../db/client'
import { EXPIRED_BATCH } from '../executions/queries'
import { allOrgPlans } from '../orgs/service'
import type { Plan } from '../../db/schema'
import type { Logger } from '../../lib/logger'
import { PLAN_LIMITS } from '../plans'
import { rollups, type RolledExecution } from '../analytics/rollups'
import { all, run } from '../../db/work'

const DAY_MS = 86_400_000
export const IDEMPOTENCY_KEY_TTL_MS = DAY_MS
const HOUR_MS = 3_600_000

export interface SweepResult {
  executions: number
  idempotencyKeys: number
  sessions: number
  streamTickets: number
  rateLimits: number
  streamLeases: number
}

/**
 * Deletes executions older than each organisation's plan window, in batches of `batchSize` with the
 * event loop yielded between batches, so a large sweep never holds the database for long. Each batch
 * lowers the repositories' counters and the daily rollups in the same transaction as its deletions. Expired sessions and stream
 * tickets, and idempotency keys older than a day, go too.
 */
export async function sweepRetention(db: Db, now: number, batchSize = 1000): Promise<SweepResult> {
  const orgs = await db.read(allOrgPlans())
  function* batch(orgId: string, cutoff: number) {
    const deleted = yield* all<RolledExecution>(
      EXPIRED_BATCH,
      [orgId, cutoff, batchSize],
    )
    const perRepo = new Map<number, number>()
    for (const { repo_id } of deleted) perRepo.set(repo_id, (perRepo.get(repo_id) ?? 0) + 1)
    for (const [repoId, n] of perRepo) yield* run('UPDATE repositories SET execution_count = execution_count - ?, version = version + 1 WHERE id = ?', [n, repoId])
    yield* rollups.remove(deleted)
    return deleted.length
  }
  const result: SweepResult = { executions: 0, idempotencyKeys: 0, sessions: 0, streamTickets: 0, rateLimits: 0, streamLeases: 0 }
  for (const org of orgs) {
    const cutoff = now - PLAN_LIMITS[org.plan].retentionDays * DAY_MS
    for (;;) {
      const n = await db.tx(batch(org.id, cutoff))
      result.executions += n
      if (n < batchSize) break
      await new Promise((resolve) => setTimeout(resolve, 0))
    }
  }
  result.idempotencyKeys = await db.run('DELETE FROM idempotency_keys WHERE created_at < ?', [now - IDEMPOTENCY_KEY_TTL_MS])
  result.sessions = await db.run('DELETE FROM sessions WHERE expires_at <= ?', [now])
  result.streamTickets = await db.run('DELETE FROM stream_tickets WHERE expires_at <= ?', [now])
  // A rate-limit row whose time has passed means "full allowance", the same as no row.
  result.rateLimits = await db.run('DELETE FROM rate_limits WHERE tat <= ?', [now])
  // Leases of event streams whose instance went away without releasing them (a kill -9).
  result.streamLeases = await db.run('DELETE FROM stream_leases WHERE expires_at <= ?', [now])
  return result
}

/**
 * Runs the sweep now and then every hour. With several instances on one PostgreSQL, only the instance that
 * holds the `retention` duty sweeps; the others ask every `checkMs` (5 minutes) and the first to ask after
 * the holder died takes it over and sweeps at once. Returns a function that stops it.
 */
export function startRetentionSchedule(db: Db, clock: { now(): number }, logger: Logger, checkMs = 5 * 60_000): () => void {
  let running = false
  let lastSweep = -Infinity
  const tick = async () => {
    if (running) return
    running = true
    try {
      if (db.lead && !(await db.lead('retention'))) return
      if (clock.now() - lastSweep < HOUR_MS) return
      lastSweep = clock.now()
      const result = await sweepRetention(db, clock.now())
      logger.info('retention sweep', { ...result })
    } catch (error) {
      logger.error('retention sweep failed', { error: (error as Error).message })
    } finally {
      running = false
    }
  }
  void tick()
  const timer = setInterval(tick, checkMs)
  timer.unref?.()
  return () => clearInterval(timer)
}
