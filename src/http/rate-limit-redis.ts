import { RedisClient } from 'bun'
import type { Clock } from '../lib/clock'
import type { Logger } from '../lib/logger'
import { HttpError } from './errors'
import { GCRA_WINDOW_MS, allowed, denied, type RateDecision } from './rate-limit'
import { timed } from '../lib/timed'

/*
 * The `redis` rate-limit store (REDIS_URL): the same GCRA as the memory and database stores, as one Lua
 * script that Redis runs atomically, one EVALSHA round trip per request. The key expires by itself when
 * its TAT has passed (PX), so Redis holds only keys that are limiting someone.
 *
 * Times are this instance's clock (as for the database store): instances whose clocks disagree by d ms
 * shift a key's allowance by d ms, which NTP keeps far below one request interval.
 */
const GCRA = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then tat = math.max(tonumber(stored), now) end
local nextTat = tat + interval
if nextTat - window > now then return {0, string.format('%.3f', tat)} end
redis.call('SET', KEYS[1], string.format('%.3f', nextTat), 'PX', math.max(1, math.ceil(nextTat - now)))
return {1, string.format('%.3f', nextTat)}
`
const GCRA_SHA = new Bun.CryptoHasher('sha1').update(GCRA).digest('hex')
/** A Redis that does not answer within this long is treated as down: the request is refused, never held. */
const COMMAND_TIMEOUT_MS = 1000

/** Redis unreachable or too slow: not the client's fault; retry shortly (like `database unavailable`). */
const unavailable = () => new HttpError(503, 'rate limit store unavailable', { 'retry-after': '5' })

/**
 * A client that never queues: while Redis is away every command fails at once (and the request gets 503)
 * and the client reconnects in the background.
 */
export function redisClient(url: string): RedisClient {
  return new RedisClient(url, { connectionTimeout: 3000, autoReconnect: true, enableOfflineQueue: false, maxRetries: 1_000_000 })
}

/** `prefix` keeps this server's keys apart from anything else in the Redis database (and tests apart). */
export function redisTake(client: RedisClient, clock: Clock, logger: Pick<Logger, 'warn'>, prefix: string) {
  let warnedAt = -Infinity
  const run = async (args: string[]): Promise<[number, string]> => {
    try {
      return (await client.send('EVALSHA', [GCRA_SHA, ...args])) as [number, string]
    } catch (error) {
      // A restarted Redis has forgotten the script: EVAL sends it (and caches it again).
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error
      return (await client.send('EVAL', [GCRA, ...args])) as [number, string]
    }
  }
  return async (key: string, limit: number): Promise<RateDecision> => {
    const now = clock.now()
    const interval = GCRA_WINDOW_MS / limit
    let reply: [number, string]
    try {
      reply = await timed(run(['1', prefix + key, String(now), String(interval), String(GCRA_WINDOW_MS)]), COMMAND_TIMEOUT_MS)
    } catch (error) {
      // One line a second at most, however many requests are refused meanwhile.
      if (now - warnedAt >= 1000) {
        warnedAt = now
        logger.warn('rate limit store unavailable', { reason: (error as Error).message })
      }
      throw unavailable()
    }
    const tat = Number(reply[1])
    return reply[0] === 1 ? allowed(limit, now, tat, interval) : denied(limit, now, tat, tat + interval - GCRA_WINDOW_MS)
  }
}
