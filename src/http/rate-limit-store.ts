import type { RedisClient } from 'bun'
import type { Config } from '../config'
import type { Db } from '../db/client'
import type { Clock } from '../lib/clock'
import type { Logger } from '../lib/logger'
import { databaseStore, type SharedLimiter } from './rate-limit'
import { redisClient, redisStore } from './rate-limit-redis'
import { syncedTake } from './rate-limit-sync'

/**
 * Where rate-limit state lives (RATE_LIMIT_STORE): Redis when REDIS_URL is set, the database on
 * PostgreSQL (both shared by every instance), else this process's memory (no `take`: the limiter's own).
 */
export function chosenStore(config: Config, dialect: Db['dialect']): 'memory' | 'database' | 'redis' {
  return config.rateLimitStore ?? (config.redisUrl ? 'redis' : dialect === 'postgres' ? 'database' : 'memory')
}

export function limitStore(deps: { config: Config; db: Db; clock: Clock; logger: Logger; redis?: RedisClient }): { shared?: SharedLimiter; redis?: RedisClient } {
  const { config, db, clock } = deps
  const store = chosenStore(config, db.dialect)
  if (store === 'redis') {
    const redis = deps.redis ?? redisClient(config.redisUrl!)
    return { shared: syncedTake(redisStore(redis, clock, deps.logger, config.redisKeyPrefix), clock, config.rateLimitSyncMs), redis }
  }
  return store === 'database' ? { shared: syncedTake(databaseStore(db), clock, config.rateLimitSyncMs) } : {}
}
