import type { Database } from 'bun:sqlite'

/**
 * Group commit: items submitted during one turn of the event loop are written in one transaction, each
 * in its own savepoint (an item that throws rolls back alone and rejects alone). A commit appends every
 * page it touched to the WAL, so sharing it is the difference between ~36 µs and ~6 µs a run. No promise
 * resolves before the commit that holds its item.
 */
export function createBatchedWriter<I, O>(sqlite: Database, apply: (item: I) => O) {
  const one = sqlite.transaction(apply)
  interface Pending {
    item: I
    resolve: (value: O) => void
    reject: (error: unknown) => void
  }
  let queue: Pending[] = []
  const commit = sqlite.transaction((batch: Pending[]) =>
    batch.map((pending) => {
      try {
        return { ok: one(pending.item) }
      } catch (error) {
        return { error }
      }
    }),
  )
  function flush(): void {
    const batch = queue
    queue = []
    let results: ReturnType<typeof commit>
    try {
      results = commit.immediate(batch)
    } catch (error) {
      for (const pending of batch) pending.reject(error)
      return
    }
    results.forEach((result, i) => ('ok' in result ? batch[i]!.resolve(result.ok as O) : batch[i]!.reject(result.error)))
  }
  return {
    submit(item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush)
        queue.push({ item, resolve, reject })
      })
    },
  }
}
