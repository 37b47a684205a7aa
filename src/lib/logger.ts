export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  /** One access-log line (always JSON, at info level). */
  access(entry: AccessEntry): void
  /** One `[audit] …` line, always written whatever the level (the audit trail is not optional). */
  audit(line: string): void
}

export type Sink = (line: string) => void

/*
 * One record per line under every line-splitting rule, whatever a client sends. JSON.stringify escapes
 * C0 controls (\n, \r, ESC, …) but passes DEL, the C1 controls (U+0085 NEXT LINE among them) and
 * U+2028/U+2029 through raw, and readers that split lines the Unicode way break on those: they are
 * escaped here too, which keeps the text valid JSON.
 */
const UNSAFE = /[\u007f-\u009f\u2028\u2029]/g
const escapeUnsafe = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`

/** A JSON string literal with every control and line-separator character escaped. */
export function jsonString(value: string): string {
  return JSON.stringify(value).replace(UNSAFE, escapeUnsafe)
}

/** JSON.stringify for one log line (see jsonString). */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, escapeUnsafe)
}

/*
 * Lines are gathered and written to stdout at most every FLUSH_MS (or at 64 KiB): under load that is one
 * write for hundreds of requests instead of a system call each. A clean exit flushes; a kill -9 can lose
 * at most the last FLUSH_MS of lines.
 */
const FLUSH_MS = 25
let pending = ''
let timer: ReturnType<typeof setTimeout> | undefined
function flush() {
  timer = undefined
  const out = pending
  pending = ''
  if (out) process.stdout.write(out)
}
const stdoutSink: Sink = (line) => {
  pending += line + '\n'
  if (pending.length > 65_536) {
    if (timer) clearTimeout(timer)
    flush()
  } else timer ??= setTimeout(flush, FLUSH_MS)
}
process.on('exit', flush)

/* Formatting a Date costs more than the rest of an access line: the second's prefix is reused. */
let cachedSecond = -1
let cachedPrefix = ''
function isoNow(): string {
  const now = Date.now()
  const second = Math.floor(now / 1000)
  if (second !== cachedSecond) {
    cachedSecond = second
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20)
  }
  return `${cachedPrefix}${String(now % 1000).padStart(3, '0')}Z`
}

export interface AccessEntry {
  request_id: string | undefined
  method: string
  path: string
  status: number
  duration_ms: number
}

/** JSON-lines logger. Callers never pass secrets; fields are written as given. */
export function createLogger(level: LogLevel = 'info', sink: Sink = stdoutSink): Logger {
  const min = ORDER[level]
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return
    sink(jsonLine({ time: isoNow(), level: lvl, msg, ...fields }))
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    // The hottest line: written field by field (the request id is a UUID or matched ^[A-Za-z0-9._-]+$, the
    // method a token; only the path needs escaping), the same JSON as write() would produce.
    access: (f) => {
      if (ORDER.info < min) return
      sink(
        `{"time":"${isoNow()}","level":"info","msg":"request"${f.request_id === undefined ? '' : `,"request_id":"${f.request_id}"`},"method":${JSON.stringify(f.method)},"path":${JSON.stringify(f.path)},"status":${f.status},"duration_ms":${f.duration_ms}}`,
      )
    },
    audit: (line) => sink(`[audit] ${line}`),
  }
}

/** A logger that keeps its lines in memory: for tests that assert what was (and was not) logged. */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = []
  return Object.assign(createLogger(level, (line) => lines.push(line)), { lines })
}
