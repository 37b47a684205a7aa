import type { Db } from './client'

/**
 * Takes the work of WAL checkpoints off the request thread. SQLite's automatic checkpoint runs inside the
 * commit that crosses 1,000 WAL pages, and copying those pages held that commit for 60-100 ms under
 * sustained ingestion. A worker with its own connection now copies frames back every `intervalMs`
 * (PASSIVE: it never blocks readers or the writer). The writer keeps its automatic checkpoint, which finds
 * almost nothing left to copy; it is still needed because only a checkpoint that reaches the end of the
 * log lets the next write restart the WAL from the beginning, and a passive checkpointer racing a
 * continuous writer never gets there (the WAL grew to ~1 GB in 8 s without it).
 * Returns a function that stops the worker.
 */
export function startCheckpointer(db: Db, intervalMs = 250): () => void {
  const { path } = db
  if (path === ':memory:') return () => {}
  const worker = new Worker(new URL('./checkpoint-worker.ts', import.meta.url))
  worker.postMessage({ path, intervalMs })
  ;(worker as Worker & { unref?: () => void }).unref?.()
  return () => worker.terminate()
}
