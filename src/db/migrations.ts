import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/*
 * drizzle's migrator (and drizzle-orm with it, ~25 ms to load) is needed only when a migration is pending.
 * Its rule, read here without it: a migration is applied when its journal `when` is later than the newest
 * `created_at` in the migrations table. So a database whose newest row is at least the journal's last
 * `when` is up to date, and start-up skips loading the migrator.
 */

/** The `when` of the newest migration in a drizzle-kit folder's journal. */
export function newestMigration(folder: string): number {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: { when: number }[] }
  return Math.max(0, ...journal.entries.map((entry) => entry.when))
}

/** Whether the newest applied migration (`created_at`, null when none or no table) covers the folder. */
export function upToDate(newestApplied: unknown, folder: string): boolean {
  return newestApplied !== null && newestApplied !== undefined && Number(newestApplied) >= newestMigration(folder)
}
