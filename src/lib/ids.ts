import { monotonicFactory } from 'ulidx'

const nextUlid = monotonicFactory()

/** A lower-case ULID for the given time, strictly increasing within this process. */
export function ulidAt(ms: number): string {
  return nextUlid(ms).toLowerCase()
}

export const orgId = (ms: number) => `org_${ulidAt(ms)}`
export const executionId = (ms: number) => `exe_${ulidAt(ms)}`
export const auditId = (ms: number) => `aud_${ulidAt(ms)}`
export const sessionId = (ms: number) => `ses_${ulidAt(ms)}`

/** Hex of n cryptographically random bytes. */
export function randomHex(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
}
