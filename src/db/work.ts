/*
 * Units of work that run on either backend. A unit is a generator that yields the statements it needs
 * and receives their results:
 *
 *   function* revoke(id: string) {
 *     const row = yield* get<{ status: string }>('SELECT status FROM api_tokens WHERE id = ?', [id])
 *     if (row?.status !== 'revoked') yield* run('UPDATE api_tokens SET status = ? WHERE id = ?', ['revoked', id])
 *   }
 *   await db.tx(revoke(id))
 *
 * SQLite runs a unit synchronously inside one transaction, so nothing else in the process can run between
 * its statements (one connection, no interleaving, no lock to wait on); PostgreSQL runs the same unit
 * statement by statement on one pooled connection. The rules live once, in the unit; only the runner
 * knows the dialect. SQL is written with `?` placeholders in the subset both dialects share.
 */

export type Params = readonly unknown[]

export type Op =
  | { kind: 'all'; text: string; params: Params }
  | { kind: 'get'; text: string; params: Params }
  | { kind: 'run'; text: string; params: Params }
  | { kind: 'savepoint'; work: Step<unknown> }
  | { kind: 'lock'; key: string }

export type Step<T> = Generator<Op, T, unknown>

/** Every row of a statement. */
export function* all<T>(text: string, params: Params = []): Step<T[]> {
  return (yield { kind: 'all', text, params }) as T[]
}

/** The first row, or null. */
export function* get<T>(text: string, params: Params = []): Step<T | null> {
  return (yield { kind: 'get', text, params }) as T | null
}

/** A write; returns the number of rows it changed. */
export function* run(text: string, params: Params = []): Step<number> {
  return (yield { kind: 'run', text, params }) as number
}

export type Outcome<T> = { ok: T } | { error: unknown }

/** Runs `work` in a savepoint: if it throws, its statements are undone and the error is returned, not thrown. */
export function* savepoint<T>(work: Step<T>): Step<Outcome<T>> {
  return (yield { kind: 'savepoint', work }) as Outcome<T>
}

/**
 * Serialises transactions that name the same key until they end: how a check-then-write (a plan cap,
 * a webhook's exactly-once) stays exact when two requests race on PostgreSQL. On SQLite every write
 * transaction already runs alone (BEGIN IMMEDIATE), so it costs nothing there.
 */
export function* lock(key: string): Step<void> {
  yield { kind: 'lock', key }
}

/** Drives a unit synchronously: each yielded statement is executed and its result (or error) sent back. */
export function driveSync<T>(step: Step<T>, exec: (op: Op) => unknown): T {
  let input: unknown
  let error: unknown
  let failed = false
  for (;;) {
    const next = failed ? step.throw(error) : step.next(input)
    if (next.done) return next.value
    failed = false
    try {
      input = exec(next.value)
    } catch (e) {
      failed = true
      error = e
    }
  }
}

/** The same, for a driver whose statements are asynchronous. */
export async function driveAsync<T>(step: Step<T>, exec: (op: Op) => Promise<unknown>): Promise<T> {
  let input: unknown
  let error: unknown
  let failed = false
  for (;;) {
    const next = failed ? step.throw(error) : step.next(input)
    if (next.done) return next.value
    failed = false
    try {
      input = await exec(next.value)
    } catch (e) {
      failed = true
      error = e
    }
  }
}
