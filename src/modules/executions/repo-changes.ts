import type { Clock } from '../../lib/clock'
import { Lru } from '../../lib/lru'
import type { MaybePromise } from '../../lib/maybe'

/**
 * How long a repository's row (its version, counter, visibility) read from the database is trusted
 * without being read again, when no change to it was announced. Runs recorded by any instance are
 * announced (on this instance at once, on the others by their notification), so this bounds only what
 * is not: the retention sweep, the CLI, an operator's SQL, a notification lost in the gap before the
 * cluster notices it (`modules/cluster.ts`). One read a second per repository replaces one per request.
 */
export const REPO_FRESH_MS = 1000
const MAX_ENTRIES = 10_000

export interface RepoChanges {
  /** A repository (`streamKey(orgId, name)`) changed (a run recorded, a setting edited): forget what was read of it. */
  changed(key: string): void
  /** Something may have changed unannounced (a lost notification): forget everything. */
  flush(): void
  /**
   * A cache of one value per key, trusted for REPO_FRESH_MS or until its repository is announced changed.
   * `read` returns the value and the repository it was read from (`streamKey`), or null for a value that
   * is not kept (a missing repository, created by its first run).
   */
  cache<V>(maxEntries?: number): ValueCache<V>
}

export interface ValueCache<V> {
  get(key: string, read: () => Promise<{ value: V; repo: string | null }>): MaybePromise<V>
}

/**
 * Which repositories changed since a row was read: every announced change bumps the repository's epoch,
 * a flush bumps them all. A row read while a change came in is used by its reader but not kept, so a
 * read that raced a write never outlives it (read-your-writes on the instance that took the write).
 */
export function createRepoChanges(clock: Clock): RepoChanges {
  const epochs = new Map<string, number>()
  let changes = 0
  let flushes = 0
  const epochOf = (key: string) => epochs.get(key) ?? 0
  function flush() {
    changes++
    flushes++
    epochs.clear()
  }
  return {
    changed(key) {
      // Bounded: past MAX_ENTRIES repositories changed since the last flush, everything is forgotten once.
      if (!epochs.has(key) && epochs.size >= MAX_ENTRIES) flush()
      changes++
      epochs.set(key, epochOf(key) + 1)
    },
    flush,
    cache<V>(maxEntries = MAX_ENTRIES): ValueCache<V> {
      const values = new Lru<string, { value: V; at: number; repo: string; epoch: number; flushes: number }>(maxEntries)
      async function load(key: string, read: () => Promise<{ value: V; repo: string | null }>): Promise<V> {
        const before = changes
        const at = clock.now()
        const { value, repo } = await read()
        if (repo !== null && changes === before) values.set(key, { value, at, repo, epoch: epochOf(repo), flushes })
        return value
      }
      return {
        get(key, read) {
          const hit = values.get(key)
          if (hit && hit.flushes === flushes && hit.epoch === epochOf(hit.repo) && clock.now() - hit.at < REPO_FRESH_MS) return hit.value
          return load(key, read)
        },
      }
    },
  }
}
