import { HttpError } from '../../http/errors'
import { Lru } from '../../lib/lru'
import { decodeExecutionCursor, encodeCursor, executionView } from './format'
import { INVALID_CURSOR } from '../../lib/cursor'
import type { Db } from '../../db/client'
import { executionQueries as q, REPO_BY_NAME, type PageOrder, type RepoRow } from './queries'
import { encodeTime } from 'ulidx'
import type { ExecutionRow } from './format'
import { streamKey } from './bus'
import type { RepoChanges } from './repo-changes'

/** Cached first pages (and cursor pages): about 2.5 KB each for 10 short runs, up to ~100 KB for 100 long ones. */
const LIST_CACHE_ENTRIES = 2000
/** The pages' JSON together: one token walking thousands of cursors of long runs cannot grow the process past this. */
const LIST_CACHE_BYTES = 8 * 1024 * 1024
const EMPTY_LIST = JSON.stringify({ executions: [], total: 0, next_cursor: null })
const badCursor = () => new HttpError(400, INVALID_CURSOR)

export interface ListOptions {
  limit: number
  cursor?: string
  branch?: string
  /** Exact commit SHA. */
  commit?: string
  /** Runs created at or after this time (ms). */
  since?: number
  /** Runs created before this time (ms). */
  until?: number
  /** Newest first (default) or oldest first. */
  order?: PageOrder
}

const MAX_ULID_TIME = 2 ** 48 - 1
/** Ids begin with their creation time (a run's `created_at` is its id's time): `exe_<time>` sorts before every id of that millisecond. */
export const idAt = (ms: number) => `exe_${encodeTime(Math.min(Math.max(ms, 0), MAX_ULID_TIME), 10).toLowerCase()}`
/** Below and above every execution id. */
export const LOWEST_ID = 'exe_'
export const HIGHEST_ID = 'exe_~'

/**
 * The list as JSON. A page is served from memory while the repository's version (bumped in the same
 * transaction as every insert and deletion, by any instance) is unchanged. The repository's row itself is
 * read at most once a second (`repo-changes.ts`), or again as soon as a run recorded on it is announced: a
 * cached page costs no statement.
 */
export function createListCache(db: Db, changes: RepoChanges) {
  const repos = changes.cache<RepoRow | null>()
  const cache = new Lru<string, { version: number; json: string }>(LIST_CACHE_ENTRIES, { maxWeight: LIST_CACHE_BYTES, weigh: (key, page) => key.length + page.json.length + 64 })

  /** `limit` at a time in the asked order, within the time window; `total` is the repository's counter, never a COUNT(*). */
  async function page(repo: RepoRow, repoName: string, options: ListOptions) {
    const order = options.order ?? 'desc'
    let above = options.since === undefined ? LOWEST_ID : idAt(options.since)
    let below = options.until === undefined ? HIGHEST_ID : idAt(options.until)
    if (options.cursor !== undefined) {
      const after = decodeExecutionCursor(options.cursor)
      if (after === null) throw badCursor()
      // The cursor is the last run shown: the next page continues past it in the page's own order.
      if (order === 'desc') below = after < below ? after : below
      else above = after > above ? after : above
    }
    const rows: ExecutionRow[] = await db.read(q.page(repoName, repo.id, options, above, below, order, options.limit + 1))
    const more = rows.length > options.limit
    if (more) rows.pop()
    return {
      executions: rows.map(executionView),
      total: repo.execution_count,
      next_cursor: more ? encodeCursor(rows[rows.length - 1]!.id) : null,
    }
  }

  return {
    /** Bytes of JSON the cache holds now. */
    bytes: () => cache.bytes,
    async listJson(orgId: string, repoName: string, options: ListOptions): Promise<string> {
      const key = streamKey(orgId, repoName)
      const repo = await repos.get(key, async () => {
        const row = await db.get<RepoRow>(REPO_BY_NAME, [orgId, repoName])
        return { value: row, repo: row === null ? null : key }
      })
      if (!repo) {
        // The same answer to a bad cursor whether or not the repository exists yet.
        if (options.cursor !== undefined && decodeExecutionCursor(options.cursor) === null) throw badCursor()
        return EMPTY_LIST
      }
      const pageKey = [repo.id, options.limit, options.branch, options.cursor, options.commit, options.since, options.until, options.order].join('\0')
      const hit = cache.get(pageKey)
      if (hit && hit.version === repo.version) return hit.json
      const json = JSON.stringify(await page(repo, repoName, options))
      cache.set(pageKey, { version: repo.version, json })
      return json
    },
  }
}
