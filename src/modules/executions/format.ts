import { decodeCursor, encodeCursor } from '../../lib/cursor'
import type { Outcome } from '../../db/schema'
import { isoSeconds } from '../../lib/clock'

/** Sign and two decimals: "+2.30", "-0.40", and "0.00" for anything that rounds to zero (never "-0.00"). */
export function formatDelta(delta: number): string {
  const cents = Math.round(Math.abs(delta) * 100 + 1e-9)
  if (cents === 0) return '0.00'
  return `${delta > 0 ? '+' : '-'}${(cents / 100).toFixed(2)}`
}

/** Floating-point noise (80.1 - 80.6 = -0.49999999999999) must not move a run across a threshold. */
export function roundDelta(delta: number): number {
  return Math.round(delta * 1e6) / 1e6
}

/** API.md: `pass` if delta > -warn, `warn` if delta > -fail, else `fail`. */
export function outcomeFor(delta: number, warnThreshold: number, failThreshold: number): Outcome {
  if (delta > -warnThreshold) return 'pass'
  if (delta > -failThreshold) return 'warn'
  return 'fail'
}

export interface ExecutionRow {
  id: string
  repo: string
  branch: string
  outcome: Outcome
  delta: number
  coverage: number
  baseline: number | null
  commit: string | null
  created_at: number
}

/** The list shape of API.md plus coverage, baseline and commit. */
export function executionView(row: ExecutionRow) {
  return {
    id: row.id,
    repo: row.repo,
    branch: row.branch,
    outcome: row.outcome,
    delta: formatDelta(row.delta),
    created_at: isoSeconds(row.created_at),
    coverage: row.coverage,
    baseline: row.baseline,
    commit: row.commit,
  }
}

export type ExecutionView = ReturnType<typeof executionView>

const EXECUTION_ID = /^exe_[0-9a-z]{26}$/

export { encodeCursor }
/** The execution id a list cursor names, or null (lib/cursor.ts). */
export const decodeExecutionCursor = (cursor: string) => decodeCursor(cursor, EXECUTION_ID)
