/** `scheme://user:password@host:port/path` → `scheme://user@host:port/path`: safe for logs and error lines. */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`
  } catch {
    return `${url.split(':', 1)[0]}://(unparseable URL)`
  }
}
