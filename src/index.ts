import { ConfigError, loadConfig } from './config'
import { openDatabase } from './db/client'
import { createApp } from './app'

try {
  const config = loadConfig()
  const db = openDatabase(config.databaseUrl)
  const app = createApp({ config, db })
  await app.services.renderer.warm()
  app.listen({ port: config.port, hostname: config.host, maxRequestBodySize: 2 * 1024 * 1024 })
  console.log(JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: 'listening', host: config.host, port: app.server?.port }))
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`nolapse-platform: configuration error: ${error.message}`)
    process.exit(1)
  }
  throw error
}
