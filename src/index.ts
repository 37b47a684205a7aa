import { ConfigError, loadConfig } from './config'
import { openDatabase } from './db/client'
import { createApp } from './app'
import { createLogger } from './lib/logger'
import { startRetentionSchedule } from './modules/retention/service'
import { systemClock } from './lib/clock'
import { startCheckpointer } from './db/checkpointer'

try {
  const config = loadConfig()
  const logger = createLogger(config.logLevel)
  const db = openDatabase(config.databaseUrl)
  const app = createApp({ config, db, logger })
  app.listen({ port: config.port, hostname: config.host, maxRequestBodySize: 2 * 1024 * 1024 })
  // The first satori render costs tens of milliseconds: paid now, right after listen, not by the first README view.
  void app.services.renderer.warm().catch((error) => logger.error('badge warm-up failed', { error: String(error) }))
  const stopRetention = startRetentionSchedule(db, systemClock, logger)
  // Started a moment after listen: booting a worker thread would otherwise compete with the first requests.
  let stopCheckpointer = () => {}
  const checkpointerTimer = setTimeout(() => (stopCheckpointer = startCheckpointer(db)), 1000)
  logger.info('listening', { host: config.host, port: app.server?.port, database: config.databaseUrl })
  const shutdown = async () => {
    stopRetention()
    clearTimeout(checkpointerTimer)
    stopCheckpointer()
    // Stop accepting, give in-flight requests up to 5 s, then close what is left (open event streams never end by themselves).
    await Promise.race([app.stop(), Bun.sleep(5000)])
    await app.stop(true)
    db.close()
    process.exit(0)
  }
  process.on('SIGTERM', shutdown)
  process.on('SIGINT', shutdown)
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`nolapse-platform: configuration error: ${error.message}`)
    process.exit(1)
  }
  throw error
}
