import { monotonicFactory, ulid } from 'ulidx'

const nextUlid = monotonicFactory()

/** A lower-case ULID for the given time, strictly increasing within this process. */
export function ulidAt(ms: number): string {
  return nextUlid(ms).toLowerCase()
}

export const orgId = (ms: number) => `org_${ulidAt(ms)}`
export const executionId = (ms: number) => `exe_${ulidAt(ms)}`
export const auditId = (ms: number) => `aud_${ulidAt(ms)}`
/**
 * Session ids are the only credential `DELETE /v1/sessions/{id}` asks for, so they take 80 fresh random
 * bits each time: a monotonic ULID minted in the same millisecond is the previous one plus one.
 */
export const sessionId = (ms: number) => `ses_${ulid(ms).toLowerCase()}`

/** Hex of n cryptographically random bytes. */
export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
}
