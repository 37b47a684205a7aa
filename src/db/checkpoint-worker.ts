/// <reference lib="webworker" />
/**
 * Runs in a worker thread with its own connection: copies the WAL back into the database file with
 * PASSIVE checkpoints (which never block readers or the writer), so the request thread never stalls on one.
 */
import { Database } from 'bun:sqlite'

declare const self: Worker

self.onmessage = (event: MessageEvent<{ path: string; intervalMs: number }>) => {
  const db = new Database(event.data.path)
  db.exec('PRAGMA busy_timeout = 5000')
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
  setInterval(() => {
    try {
      checkpoint.get()
    } catch {
      // A busy or failed round is harmless: the writer's own automatic checkpoint still runs.
    }
  }, event.data.intervalMs)
}
