import type { RedisClient } from 'bun'
import { redisClient } from '../../src/http/rate-limit-redis'

/**
 * Redis for the `redis` rate-limit store's tests: TEST_REDIS_URL names a server (`.ci/run` starts a
 * throwaway one); without it those tests are skipped. Each test keeps its keys under a prefix of its own.
 */
export const TEST_REDIS_URL = Bun.env.TEST_REDIS_URL ?? ''
export const onRedis = TEST_REDIS_URL !== ''

/** A key prefix no other test uses. */
export const redisPrefix = () => `nolapse-test:${crypto.randomUUID()}:`

/** A client that has connected (the store's clients never queue, so a command before connecting fails). */
export async function connectedRedis(url = TEST_REDIS_URL): Promise<RedisClient> {
  const client = redisClient(url)
  await client.connect()
  return client
}
