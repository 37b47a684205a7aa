/**
 * Page cursors, the same on every list (executions, repositories, the audit log): opaque to clients, the
 * base64url of the last key a page ended on. Read back, a cursor must be canonical base64url of a key of
 * the list's own shape, so a forged or hand-edited one is refused instead of silently paging elsewhere.
 */
export const INVALID_CURSOR = 'invalid query: cursor is not a cursor this API returned'

export function encodeCursor(key: string): string {
  return Buffer.from(key).toString('base64url')
}

/** The key a cursor names, or null when it is not one this API returned for a list of keys like `shape`. */
export function decodeCursor(cursor: string, shape: RegExp): string | null {
  if (cursor.length === 0 || cursor.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return null
  const key = Buffer.from(cursor, 'base64url').toString()
  return shape.test(key) && encodeCursor(key) === cursor ? key : null
}
