import type { Db } from '../db/client'
import type { Logger } from '../lib/logger'
import type { ExecutionBus } from './executions/bus'
import type { ExecutionView } from './executions/format'
import type { RepoChanges } from './executions/repo-changes'
import type { StreamRegistry } from './executions/stream-registry'
import type { OrgDirectory } from './orgs/directory'
import type { TokenVerifier } from './tokens/verifier'

/*
 * What one instance tells the others sharing its database, so that nothing cached in a process outlives a
 * change made in another (PostgreSQL LISTEN/NOTIFY; on SQLite one process serves the database and this is
 * silent). Each message is sent after the change committed.
 *
 * A notification can be lost: the listening connection drops and Bun re-listens by itself, silently, and
 * whatever was sent in the gap never arrives. So losing one must be noticed, and then everything the
 * messages kept fresh is dropped (`lost`):
 * - every control message (token, org, ended) and a beat every BEAT_MS carry the sender's sequence number;
 *   a number skipped means a message of that sender was missed (or never sent), seen at its next beat;
 * - an instance hears its own beats: when none has come back for DEAF_MS it is deaf (listening connection
 *   down), and drops its caches on every beat until it hears itself again, and once more when it does.
 * So a change made on one instance holds on every other within DEAF_MS + BEAT_MS (about 3.5 s) whatever is
 * lost; open streams also re-read their credential from the database on each poll (5 s).
 */
const CHANNEL = 'nolapse_cluster'
export const CLUSTER_TIMING = { beatMs: 1000, deafMs: 2500 }
/** A sender not heard from for this long is forgotten (a stopped instance). */
const FORGET_MS = 60_000

export type ClusterMessage =
  /** A token was revoked, rotated or edited: drop it from the verifier's cache. */
  | { kind: 'token'; id: string }
  /** An organisation's plan or billing state changed: drop it from the organisation cache. */
  | { kind: 'org'; id: string }
  /** A credential stopped being accepted (`t:<id>`, `s:<id>`): end the streams it opened here. */
  | { kind: 'ended'; credential: string }
  /** A run was recorded: deliver it to this instance's open streams of its repository. */
  | { kind: 'execution'; key: string; execution: unknown }
  /** A repository's settings changed (visibility, default branch): drop its cached row. */
  | { kind: 'repo'; key: string }

type Envelope = { from: string; seq?: number; message?: ClusterMessage }

export interface Cluster {
  /** Tells the other instances (never this one: the caller has applied the change here already). */
  tell(message: ClusterMessage): void
  /** Resolves once this instance listens (before it serves, so it misses nothing). */
  ready: Promise<void>
  /** Whether this instance currently hears the others (false while its listening connection is down). */
  hearing(): boolean
  stop(): Promise<void>
}

export interface ClusterHandlers {
  receive(message: ClusterMessage): void
  /** Messages may have been missed: drop everything they keep fresh. */
  lost(reason: string): void
}

export function createCluster(db: Db, logger: Pick<Logger, 'warn' | 'info'>, handlers: ClusterHandlers, timing = CLUSTER_TIMING): Cluster {
  const signals = db.signals
  if (!signals) return { tell() {}, ready: Promise.resolve(), hearing: () => true, stop: async () => {} }
  const self = crypto.randomUUID()
  let sent = 0
  /** Per sender: the last sequence number heard and when. */
  const heard = new Map<string, { seq: number; at: number }>()
  let lastOwnBeat = performance.now()
  let deaf = false
  let stopped: Promise<void> | undefined

  function sequence(from: string, seq: number): void {
    const now = performance.now()
    const last = heard.get(from)
    heard.set(from, { seq: Math.max(seq, last?.seq ?? 0), at: now })
    // An instance first heard past its first number had sent messages this one missed (or it was forgotten).
    if (seq > (last?.seq ?? 0) + 1) handlers.lost(from === self ? 'own message missed' : 'message from another instance missed')
  }

  const listening = signals.listen(CHANNEL, (payload) => {
    let envelope: Envelope
    try {
      envelope = JSON.parse(payload) as Envelope
    } catch (error) {
      logger.warn('unreadable cluster message', { error: (error as Error).message })
      return
    }
    if (typeof envelope.seq === 'number') sequence(envelope.from, envelope.seq)
    if (envelope.from === self) {
      lastOwnBeat = performance.now()
      if (deaf) {
        deaf = false
        logger.info('hearing the other instances again')
        handlers.lost('listening again')
      }
      return
    }
    if (envelope.message) handlers.receive(envelope.message)
  })
  const ready = listening.then(
    // Numbered from the start: the others know this instance before it changes anything.
    () => beatNow(),
    (error) => logger.warn('not listening for other instances; caches are dropped every second until it is', { error: (error as Error).message }),
  )

  function send(envelope: Envelope, kind: string): void {
    signals!.send(CHANNEL, JSON.stringify(envelope)).catch((error) =>
      // Its sequence number is skipped: every receiver notices at this instance's next beat.
      logger.warn('cluster message not sent; the others notice the gap and drop their caches', { kind, error: (error as Error).message }),
    )
  }

  const beatNow = () => send({ from: self, seq: ++sent }, 'beat')
  const beat = setInterval(() => {
    const now = performance.now()
    if (now - lastOwnBeat > timing.deafMs) {
      if (!deaf) logger.warn('not hearing the other instances (listening connection lost); caches are dropped until it is back')
      deaf = true
      handlers.lost('not hearing the other instances')
    }
    for (const [from, { at }] of heard) if (now - at > FORGET_MS) heard.delete(from)
    beatNow()
  }, timing.beatMs)
  ;(beat as { unref?: () => void }).unref?.()

  return {
    tell(message) {
      // Runs carry no number: a stream that misses one catches up on its poll, and a cached repository row
      // (list page, badge) is read again within REPO_FRESH_MS (1 s) anyway; nothing depends on it for safety.
      send(message.kind === 'execution' ? { from: self, message } : { from: self, seq: ++sent, message }, message.kind)
    },
    ready,
    hearing: () => !deaf,
    stop: () =>
      (stopped ??= (async () => {
        clearInterval(beat)
        const unlisten = await listening.catch(() => null)
        await unlisten?.()
      })()),
  }
}

/** This process's caches and streams, which other instances' changes must reach. */
export interface Local {
  verifier: TokenVerifier
  orgs: OrgDirectory
  streams: StreamRegistry
  bus: ExecutionBus
  /** Cached repository rows (list pages, badges), dropped when a run recorded elsewhere is heard of. */
  changes: RepoChanges
}

/**
 * The same four, told to every instance on the database: a change made here is applied here and told to
 * the others, which apply it to their own caches and streams; a message missed drops the caches.
 */
export function clustered(local: Local, db: Db, logger: Pick<Logger, 'warn' | 'info'>, timing?: typeof CLUSTER_TIMING): Local & { cluster: Cluster } {
  const cluster = createCluster(
    db,
    logger,
    {
      receive(message) {
        if (message.kind === 'token') local.verifier.invalidate(message.id)
        else if (message.kind === 'org') local.orgs.invalidate(message.id)
        else if (message.kind === 'ended') local.streams.end(message.credential)
        else if (message.kind === 'repo') local.changes.changed(message.key)
        else {
          local.changes.changed(message.key)
          local.bus.publish(message.key, message.execution as ExecutionView)
        }
      },
      // A message may have been missed: nothing cached may outlive a change it would have announced.
      lost() {
        local.verifier.flush()
        local.orgs.flush()
        local.changes.flush()
      },
    },
    timing,
  )
  return {
    cluster,
    verifier: { ...local.verifier, invalidate: (id) => (local.verifier.invalidate(id), cluster.tell({ kind: 'token', id })) },
    orgs: { ...local.orgs, invalidate: (id) => (local.orgs.invalidate(id), cluster.tell({ kind: 'org', id })) },
    streams: { ...local.streams, end: (credential) => (local.streams.end(credential), cluster.tell({ kind: 'ended', credential })) },
    bus: { ...local.bus, publish: (key, execution) => (local.bus.publish(key, execution), cluster.tell({ kind: 'execution', key, execution })) },
    // A recorded run is told by its execution message (the store uses the local `changes`); settings by this one.
    changes: { ...local.changes, changed: (key) => (local.changes.changed(key), cluster.tell({ kind: 'repo', key })) },
  }
}
