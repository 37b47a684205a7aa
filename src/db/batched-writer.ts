import type { Db } from './client'
import { savepoint, type Outcome, type Step } from './work'

/**
 * Group commit: items submitted while the previous batch is being written (or during one turn of the
 * event loop) are written in one transaction, each in its own savepoint (an item that throws rolls back
 * alone and rejects alone). A commit appends every page it touched to the WAL (SQLite) or waits for one
 * WAL flush (PostgreSQL), so sharing it is the difference between ~36 µs and ~6 µs a run on SQLite. No
 * promise resolves before the commit that holds its item; one batch is in flight at a time.
 */
export function createBatchedWriter<I, O>(db: Db, apply: (item: I) => Step<O>) {
  interface Pending {
    item: I
    resolve: (value: O) => void
    reject: (error: unknown) => void
  }
  let queue: Pending[] = []
  let writing = false

  function* write(batch: Pending[]): Step<Outcome<O>[]> {
    // One item needs no savepoint: if it throws, the whole (one-item) transaction rolls back, and that
    // rejection reaches only it.
    if (batch.length === 1) return [{ ok: yield* apply(batch[0]!.item) }]
    const results: Outcome<O>[] = []
    for (const pending of batch) results.push(yield* savepoint(apply(pending.item)))
    return results
  }

  async function flush(): Promise<void> {
    if (writing || queue.length === 0) return
    const batch = queue
    queue = []
    writing = true
    try {
      const results = await db.tx(write(batch))
      results.forEach((result, i) => ('ok' in result ? batch[i]!.resolve(result.ok) : batch[i]!.reject(result.error)))
    } catch (error) {
      for (const pending of batch) pending.reject(error)
    } finally {
      writing = false
      if (queue.length > 0) void flush()
    }
  }

  return {
    submit(item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        if (queue.length === 0 && !writing) setImmediate(flush)
        queue.push({ item, resolve, reject })
      })
    },
  }
}
