import type { RedisClient } from 'bun'
import type { Config } from '../config'
import type { Db } from '../db/client'
import type { Clock } from '../lib/clock'
import type { Logger } from '../lib/logger'
import { databaseTake, type SharedTake } from './rate-limit'
import { redisClient, redisTake } from './rate-limit-redis'

/**
 * Where rate-limit state lives (RATE_LIMIT_STORE): Redis when REDIS_URL is set, the database on
 * PostgreSQL (both shared by every instance), else this process's memory (no `take`: the limiter's own).
 */
export function chosenStore(config: Config, dialect: Db['dialect']): 'memory' | 'database' | 'redis' {
  return config.rateLimitStore ?? (config.redisUrl ? 'redis' : dialect === 'postgres' ? 'database' : 'memory')
}

export function limitStore(deps: { config: Config; db: Db; clock: Clock; logger: Logger; redis?: RedisClient }): { take?: SharedTake; redis?: RedisClient } {
  const { config, db } = deps
  const store = chosenStore(config, db.dialect)
  if (store === 'redis') {
    const redis = deps.redis ?? redisClient(config.redisUrl!)
    return { take: redisTake(redis, deps.clock, deps.logger, config.redisKeyPrefix), redis }
  }
  return store === 'database' ? { take: databaseTake(db, deps.clock) } : {}
}
