import type { LogLevel } from '../config'

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  /** One access-log line (always JSON, at info level). */
  access(fields: Record<string, unknown>): void
  /** One `[audit] …` line, always written whatever the level (the audit trail is not optional). */
  audit(line: string): void
}

export type Sink = (line: string) => void

/*
 * Lines are gathered and written to stdout once per turn of the event loop: under load that is one
 * write for many requests instead of a system call each; when idle a line goes out at once.
 */
let pending = ''
let scheduled = false
function flush() {
  scheduled = false
  const out = pending
  pending = ''
  if (out) process.stdout.write(out)
}
const stdoutSink: Sink = (line) => {
  pending += line + '\n'
  if (pending.length > 65_536) flush()
  else if (!scheduled) {
    scheduled = true
    setImmediate(flush)
  }
}
process.on('exit', flush)

/** JSON-lines logger. Callers never pass secrets; fields are written as given. */
export function createLogger(level: LogLevel = 'info', sink: Sink = stdoutSink): Logger {
  const min = ORDER[level]
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return
    sink(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }))
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    access: (f) => write('info', 'request', f),
    audit: (line) => sink(`[audit] ${line}`),
  }
}

/** A logger that keeps its lines in memory: for tests that assert what was (and was not) logged. */
export function memoryLogger(level: LogLevel = 'debug'): Logger & { lines: string[] } {
  const lines: string[] = []
  return Object.assign(createLogger(level, (line) => lines.push(line)), { lines })
}
