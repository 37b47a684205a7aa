import { timingSafeEqual } from 'node:crypto'

/** SHA-256 hex: the right hash for high-entropy random tokens (API.md §3). */
export function sha256Hex(value: string | Uint8Array): string {
  return new Bun.CryptoHasher('sha256').update(value).digest('hex')
}

/** Constant-time comparison of two strings: the time depends on the length, never on where they differ. */
export function safeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) {
    const left = Buffer.from(a)
    timingSafeEqual(left, left)
    return false
  }
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i)
  return diff === 0
}
