import { HttpError } from '../../http/errors'
import { Lru } from '../../lib/lru'
import { decodeExecutionCursor, encodeCursor, executionView } from './format'
import { INVALID_CURSOR } from '../../lib/cursor'
import type { Db } from '../../db/client'
import { executionQueries as q, REPO_BY_NAME, type RepoRow } from './queries'
import type { ExecutionRow } from './format'
import { streamKey } from './bus'
import type { RepoChanges } from './repo-changes'

const NO_CURSOR = 'exe_~'
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
}

/**
 * The list as JSON. A page is served from memory while the repository's version (bumped in the same
 * transaction as every insert and deletion, by any instance) is unchanged. The repository's row itself is
 * read at most once a second (`repo-changes.ts`), or again as soon as a run recorded on it is announced: a
 * cached page costs no statement.
 */
export function createListCache(db: Db, changes: RepoChanges) {
  const repos = changes.cache<RepoRow | null>()
  const cache = new Lru<string, { version: number; json: string }>(LIST_CACHE_ENTRIES, { maxWeight: LIST_CACHE_BYTES, weigh: (key, page) => key.length + page.json.length + 64 })

  /** Newest first, `limit` at a time; `total` is the repository's counter, never a COUNT(*). */
  async function page(repo: RepoRow, repoName: string, options: ListOptions) {
    let before = NO_CURSOR
    if (options.cursor !== undefined) {
      const decoded = decodeExecutionCursor(options.cursor)
      if (decoded === null) throw badCursor()
      before = decoded
    }
    const rows: ExecutionRow[] = await db.read(
      options.branch === undefined
        ? q.page(repoName, repo.id, before, options.limit + 1)
        : q.branchPage(repoName, repo.id, options.branch, before, options.limit + 1),
    )
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
      const pageKey = `${repo.id}\0${options.limit}\0${options.branch ?? ''}\0${options.cursor ?? ''}`
      const hit = cache.get(pageKey)
      if (hit && hit.version === repo.version) return hit.json
      const json = JSON.stringify(await page(repo, repoName, options))
      cache.set(pageKey, { version: repo.version, json })
      return json
    },
  }
}
