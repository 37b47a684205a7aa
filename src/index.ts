import { ConfigError, loadConfig } from './config'
import { connectDatabase, type SqliteDb } from './db/client'
import { createApp } from './app'
import { createLogger } from './lib/logger'
import { startRetentionSchedule } from './modules/retention/service'
import { systemClock } from './lib/clock'
import { startCheckpointer } from './db/checkpointer'
import { withoutPassword } from './lib/urls'
import { chosenStore } from './http/rate-limit-store'

/** Stops start-up with one line on stderr and exit code 1: never a stack trace for a problem of the setting. */
function fail(message: string): never {
  console.error(`nolapse-platform: ${message}`)
  process.exit(1)
}

/** Not top-level await: the start command may be a CommonJS bundle compiled to bytecode (`bun run build`). */
async function main(): Promise<void> {
  try {
    const config = loadConfig()
    const logger = createLogger(config.logLevel)
    const db = await connectDatabase(config.databaseUrl, { poolSize: config.databasePoolSize, statementTimeoutMs: config.databaseStatementTimeoutMs })
    const app = createApp({ config, db, logger })
    // Redis answering (an unreachable one stops start-up, like the database) and listening to the other instances before serving.
    const unready = await app.ready().then(() => null, (error: Error) => error.message)
    if (unready !== null) {
      await db.close()
      fail(unready)
    }
    try {
      // reusePort off (Elysia turns it on): a second process on a taken port must fail, not silently share it.
      app.listen({ port: config.port, hostname: config.host, maxRequestBodySize: 2 * 1024 * 1024, reusePort: false })
    } catch (error) {
      const code = (error as { code?: string }).code
      const reason = code === 'EADDRINUSE' ? 'the port is already in use' : code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : (error as Error).message
      await db.close()
      fail(`cannot listen on ${config.host}:${config.port}: ${reason} (set HOST and PORT)`)
    }
    const server = app.server!
    // The first satori render costs tens of milliseconds: paid soon after listen, not by the first README
    // view, and not at once either, where loading satori would hold up the first requests (a health check).
    const warmTimer = setTimeout(() => void app.warm().catch((error) => logger.error('badge warm-up failed', { error: String(error) })), 250)
    const stopRetention = startRetentionSchedule(db, systemClock, logger)
    // Started a moment after listen: booting a worker thread would otherwise compete with the first requests.
    let stopCheckpointer = () => {}
    // SQLite only: PostgreSQL checkpoints by itself.
    const checkpointerTimer = setTimeout(() => {
      if (db.dialect === 'sqlite') stopCheckpointer = startCheckpointer(db as SqliteDb, logger)
    }, 1000)
    logger.info('listening', { host: config.host, port: server.port, database: db.label, ...(chosenStore(config, db.dialect) === 'redis' ? { rate_limits: withoutPassword(config.redisUrl!) } : {}) })
    let stopping = false
    const shutdown = async (signal: string) => {
      if (stopping) return
      stopping = true
      logger.info('stopping', { signal, grace_ms: 5000 })
      stopRetention()
      clearTimeout(checkpointerTimer)
      clearTimeout(warmTimer)
      stopCheckpointer()
      // Stop accepting, give in-flight requests up to 5 s, then close what is left (open event streams never
      // end by themselves). The Bun server is stopped directly: Elysia's stop() throws when called twice.
      await Promise.race([server.stop(), Bun.sleep(5000)])
      await server.stop(true)
      await app.stop()
      await db.close()
      logger.info('stopped')
      process.exit(0)
    }
    process.on('SIGTERM', () => void shutdown('SIGTERM'))
    process.on('SIGINT', () => void shutdown('SIGINT'))
  } catch (error) {
    if (error instanceof ConfigError) fail(`configuration error: ${error.message}`)
    throw error
  }
}

void main()
