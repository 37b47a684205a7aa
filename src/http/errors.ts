/** The one domain error type: a status and a client-safe message, mapped to `{"error": message}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message)
  }
}

export const badRequest = (message: string) => new HttpError(400, message)
export const unauthorized = (message = 'unauthorized') => new HttpError(401, message)
export const invalidToken = () => new HttpError(401, 'invalid token')
export const paymentRequired = (message: string) => new HttpError(402, message)
export const forbidden = () => new HttpError(403, 'forbidden')
export const notFound = (message = 'not found') => new HttpError(404, message)
export const conflict = (message: string) => new HttpError(409, message)
export const payloadTooLarge = () => new HttpError(413, 'request body too large (limit 1 MiB)')
export const unsupportedMediaType = () => new HttpError(415, 'unsupported media type: expected application/json')
export const tooManyRequests = (headers: Record<string, string>) => new HttpError(429, 'rate limit exceeded', headers)
export const malformedRequest = () => badRequest('malformed request')
export const internalError = (message = 'internal error') => new HttpError(500, message)
