import { monotonicFactory } from 'ulidx'
import { sha256Hex } from './hash'

const nextUlid = monotonicFactory()

/** A lower-case ULID for the given time, strictly increasing within this process. */
export function ulidAt(ms: number): string {
  return nextUlid(ms).toLowerCase()
}

export const orgId = (ms: number) => `org_${ulidAt(ms)}`

/**
 * Execution ids for one clock: strictly increasing, and carrying that clock's time (held, not stepped back,
 * when the clock steps back), so a run's `created_at` can be its id's time. One per execution store: a
 * process-wide factory would carry another app's later clock into this one's ids (tests run many apps).
 */
export function executionIds(): (ms: number) => string {
  const next = monotonicFactory()
  return (ms) => `exe_${next(ms).toLowerCase()}`
}
export const auditId = (ms: number) => `aud_${ulidAt(ms)}`
/**
 * Session ids are the only credential `DELETE /v1/sessions/{id}` asks for, so they are secrets: 128 fresh
 * random bits (never a monotonic ULID, whose same-millisecond successor is the previous one plus one), shown
 * once, to the creator. Everywhere else a session is named by `sessionRef`.
 */
export const sessionId = () => `ses_${randomHex(16)}`

/**
 * A session's public reference for audit rows and lines (`sr_` + 80 bits of the id's SHA-256): it tells
 * events of one session apart and cannot be turned back into the id.
 */
export const sessionRef = (id: string) => `sr_${sha256Hex(id).slice(0, 20)}`

/** Hex of n cryptographically random bytes. */
export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
}
