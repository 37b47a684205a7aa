import type { Server } from 'bun'

/**
 * The client's address: the socket's peer, or with TRUST_PROXY the first X-Forwarded-For entry
 * (only safe behind a proxy that overwrites that header).
 */
export function clientAddress(request: Request, server: Server<unknown> | null | undefined, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')
    if (forwarded) return forwarded.split(',', 1)[0]!.trim()
  }
  return server?.requestIP(request)?.address ?? 'unknown'
}
