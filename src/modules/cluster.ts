import type { Db } from '../db/client'
import type { Logger } from '../lib/logger'

/*
 * What one instance tells the others sharing its database, so that nothing cached in a process outlives a
 * change made in another (PostgreSQL LISTEN/NOTIFY; on SQLite one process serves the database and this is
 * silent). Each message is sent after the change committed; a message that is lost (the database away for
 * a moment) is covered by each receiver's fallback: the caches' 30 s TTL, the streams' 5 s poll.
 */
const CHANNEL = 'nolapse_cluster'

export type ClusterMessage =
  /** A token was revoked, rotated or edited: drop it from the verifier's cache. */
  | { kind: 'token'; id: string }
  /** An organisation's plan or billing state changed: drop it from the organisation cache. */
  | { kind: 'org'; id: string }
  /** A credential stopped being accepted (`t:<id>`, `s:<id>`): end the streams it opened here. */
  | { kind: 'ended'; credential: string }
  /** A run was recorded: deliver it to this instance's open streams of its repository. */
  | { kind: 'execution'; key: string; execution: unknown }

export interface Cluster {
  /** Tells the other instances (never this one: the caller has applied the change here already). */
  tell(message: ClusterMessage): void
  /** Resolves once this instance listens (before it serves, so it misses nothing). */
  ready: Promise<void>
  stop(): Promise<void>
}

export function createCluster(db: Db, logger: Pick<Logger, 'warn'>, receive: (message: ClusterMessage) => void): Cluster {
  const signals = db.signals
  if (!signals) return { tell() {}, ready: Promise.resolve(), stop: async () => {} }
  const self = crypto.randomUUID()
  const listening = signals.listen(CHANNEL, (payload) => {
    try {
      const { from, message } = JSON.parse(payload) as { from: string; message: ClusterMessage }
      if (from !== self) receive(message)
    } catch (error) {
      logger.warn('unreadable cluster message', { error: (error as Error).message })
    }
  })
  const ready = listening.then(
    () => {},
    (error) => logger.warn('not listening for other instances; caches and streams fall back to their TTL and poll', { error: (error as Error).message }),
  )
  return {
    tell(message) {
      signals.send(CHANNEL, JSON.stringify({ from: self, message })).catch((error) =>
        logger.warn('cluster message not sent; other instances catch up within their cache TTL and stream poll', { kind: message.kind, error: (error as Error).message }),
      )
    },
    ready,
    stop: async () => {
      const unlisten = await listening.catch(() => null)
      await unlisten?.()
    },
  }
}
