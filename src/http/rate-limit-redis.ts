import { RedisClient } from 'bun'
import type { Clock } from '../lib/clock'
import type { Logger } from '../lib/logger'
import { HttpError } from './errors'
import type { SharedStore } from './rate-limit'
import { timed } from '../lib/timed'

/*
 * The `redis` rate-limit store (REDIS_URL): the same GCRA as the memory and database stores. Instances
 * decide locally (rate-limit-sync.ts) and push a batch of grants as one Lua script that Redis runs
 * atomically, one EVALSHA per batch for every key in it. A key expires by itself when its TAT has passed
 * (PX), so Redis holds only keys that are limiting someone. (The script names several keys: one Redis or
 * a primary with replicas, not a Redis Cluster.)
 *
 * Times are this instance's clock (as for the database store): instances whose clocks disagree by d ms
 * shift a key's allowance by d ms, which NTP keeps far below one request interval.
 */
const GCRA = `
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local stored = redis.call('GET', key)
  local tat = tonumber(ARGV[2 * i])
  if stored then tat = math.max(tonumber(stored), tat) end
  tat = tat + tonumber(ARGV[2 * i + 1])
  redis.call('SET', key, string.format('%.3f', tat), 'PX', math.max(1, math.ceil(tat - now)))
  out[i] = string.format('%.3f', tat)
end
return out
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
export function redisStore(client: RedisClient, clock: Clock, logger: Pick<Logger, 'warn'>, prefix: string): SharedStore {
  let warnedAt = -Infinity
  const run = async (args: string[]): Promise<string[]> => {
    try {
      return (await client.send('EVALSHA', [GCRA_SHA, ...args])) as string[]
    } catch (error) {
      // A restarted Redis has forgotten the script: EVAL sends it (and caches it again).
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error
      return (await client.send('EVAL', [GCRA, ...args])) as string[]
    }
  }
  return {
    async add(entries) {
      try {
        if (entries.length === 0) {
          await timed(client.send('PING', []), COMMAND_TIMEOUT_MS)
          return []
        }
        const args = [String(entries.length), ...entries.map(({ key }) => prefix + key), String(clock.now()), ...entries.flatMap(({ base, add }) => [String(base), String(add)])]
        return (await timed(run(args), COMMAND_TIMEOUT_MS)).map(Number)
      } catch (error) {
        // One line a second at most, however many requests are refused meanwhile.
        const at = clock.now()
        if (at - warnedAt >= 1000) {
          warnedAt = at
          logger.warn('rate limit store unavailable', { reason: (error as Error).message })
        }
        throw unavailable()
      }
    },
  }
}
