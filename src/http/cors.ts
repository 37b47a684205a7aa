import type { Config } from '../config'

/*
 * CORS is hand-written here rather than taken from @elysiajs/cors (see README, "Stack changes"): that
 * plugin sends Access-Control-Allow-Methods/-Headers/-Expose-Headers (and, by default, credentials) to
 * every origin, listed or not, and costs about 40 % of a trivial route's throughput. The rule we need is
 * small and exact: an origin in ALLOWED_ORIGINS gets CORS headers, any other gets none, and every answer
 * varies by Origin.
 */
const ALLOW_METHODS = 'GET, POST, PATCH, DELETE, OPTIONS'
const ALLOW_HEADERS = 'Authorization, Content-Type, Idempotency-Key, X-Request-ID, Last-Event-ID, If-None-Match'
const EXPOSE_HEADERS = 'X-Request-ID, ETag, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset'
const MAX_AGE = '600'

export interface CorsPolicy {
  /** Sets the CORS headers for this request's origin; returns whether the origin is allowed. */
  apply(origin: string | null, headers: Record<string, string | number>): boolean
  /** Headers added to a preflight answer for an allowed origin. */
  preflight(headers: Record<string, string | number>): void
}

export function corsPolicy(config: Pick<Config, 'allowedOrigins'>): CorsPolicy {
  const allowed = new Set(config.allowedOrigins)
  return {
    apply(origin, headers) {
      headers.vary = 'Origin'
      if (origin === null || !allowed.has(origin)) return false
      headers['access-control-allow-origin'] = origin
      headers['access-control-expose-headers'] = EXPOSE_HEADERS
      return true
    },
    preflight(headers) {
      headers['access-control-allow-methods'] = ALLOW_METHODS
      headers['access-control-allow-headers'] = ALLOW_HEADERS
      headers['access-control-max-age'] = MAX_AGE
    },
  }
}
