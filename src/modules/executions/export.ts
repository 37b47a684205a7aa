import { isoSeconds } from '../../lib/clock'
import { executionView, type ExecutionRow } from './format'

export type ExportFormat = 'csv' | 'ndjson'

export const EXPORT_MEDIA: Record<ExportFormat, string> = { csv: 'text/csv; charset=utf-8; header=present', ndjson: 'application/x-ndjson' }

const CSV_COLUMNS = ['id', 'repo', 'branch', 'outcome', 'delta', 'coverage', 'baseline', 'commit', 'created_at'] as const

/** A plain number is never a formula, whatever its sign. */
const NUMBER = /^-?\d+(\.\d+)?$/
/** What a spreadsheet may read as the start of a formula (OWASP's list: =, +, -, @, tab, carriage return). */
const FORMULA_START = /^[=+\-@\t\r]/

/**
 * One CSV cell per RFC 4180 (quoted when it holds a comma, a quote, CR or LF; quotes doubled), and safe to
 * open in a spreadsheet: text that starts like a formula gets a leading `'`, which spreadsheets show as
 * text. Numbers are written as numbers and left alone.
 */
export function csvCell(value: string | number | null): string {
  if (value === null) return ''
  let text = String(value)
  if (typeof value === 'string' && FORMULA_START.test(text) && !NUMBER.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`

/** One run as a CSV record (CRLF-terminated); `delta` as a signed number, times in ISO 8601 UTC. */
export function csvRecord(row: ExecutionRow): string {
  const cells = [row.id, row.repo, row.branch, row.outcome, Math.round(row.delta * 100) / 100, row.coverage, row.baseline, row.commit, isoSeconds(row.created_at)]
  return `${cells.map(csvCell).join(',')}\r\n`
}

/** One run as an NDJSON line: the list's item shape. */
export function ndjsonRecord(row: ExecutionRow): string {
  return `${JSON.stringify(executionView(row))}\n`
}

/**
 * The whole export as a byte stream, pulled a page at a time: a page is read only when the client has
 * taken the one before (backpressure), so memory holds one page however long the history. A client that
 * goes away stops the reads.
 */
export function exportStream(format: ExportFormat, pages: AsyncIterator<ExecutionRow[]>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  const record = format === 'csv' ? csvRecord : ndjsonRecord
  let started = false
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!started) {
          started = true
          if (format === 'csv') controller.enqueue(encoder.encode(CSV_HEADER))
        }
        const { value, done } = await pages.next()
        if (done) return controller.close()
        controller.enqueue(encoder.encode(value.map(record).join('')))
      },
      async cancel() {
        await pages.return?.()
      },
    },
    { highWaterMark: 1 },
  )
}
