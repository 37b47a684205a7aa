import { HttpError, malformedRequest, payloadTooLarge, unsupportedMediaType } from './errors'

export const MAX_BODY_BYTES = 1024 * 1024
/** Up to this declared size a body is read whole (Bun's fast path) under one stall deadline. */
const SMALL_BODY_BYTES = 64 * 1024

export interface BodyLimits {
  /** Bytes of bodies being read at once, all requests together (declared lengths are reserved up front). */
  inFlightBytes: number
  /** A body that sends nothing for this long is cut off. */
  stallMs: number
}

const busy = () => new HttpError(503, 'server busy: too many request bodies in flight', { 'retry-after': '1' })
const stalled = () => new HttpError(408, 'request body timed out')

interface Reading {
  lastProgress: number
  abort: (error: HttpError) => void
}

/**
 * Reads request bodies under two bounds that one client cannot lift: at most 1 MiB each, and at most
 * `inFlightBytes` for all bodies being read at once (a thousand stalled uploads cannot take the memory),
 * and a body that stops sending is cut off after `stallMs`. One sweep timer runs only while bodies are
 * being read.
 */
export function createBodyReader(limits: BodyLimits) {
  let inFlight = 0
  const readings = new Set<Reading>()
  let sweeper: ReturnType<typeof setInterval> | undefined

  function sweep() {
    const now = performance.now()
    for (const reading of readings) if (now - reading.lastProgress >= limits.stallMs) reading.abort(stalled())
    if (readings.size === 0) {
      clearInterval(sweeper)
      sweeper = undefined
    }
  }

  function track(reading: Reading) {
    readings.add(reading)
    if (!sweeper) {
      sweeper = setInterval(sweep, Math.min(1000, limits.stallMs / 2))
      ;(sweeper as { unref?: () => void }).unref?.()
    }
  }

  /**
   * A small body with a declared length (every API call): read whole by Bun's own fast path, and cut off
   * if it has not all arrived within the stall time (a few KiB that take that long are stalled).
   */
  async function readSmall<T>(request: Request, declared: number, whole: () => Promise<T>): Promise<T> {
    inFlight += declared
    const reading: Reading = { lastProgress: performance.now(), abort: () => {} }
    track(reading)
    try {
      return await new Promise<T>((resolve, reject) => {
        reading.abort = reject
        whole().then(resolve, reject)
      })
    } catch (error) {
      throw error instanceof HttpError ? error : malformedRequest()
    } finally {
      readings.delete(reading)
      inFlight -= declared
    }
  }

  /** The declared length to reserve (0 when none is declared); 413 and 503 are decided here. */
  function admit(request: Request): number {
    const declared = Number(request.headers.get('content-length') ?? NaN)
    if (declared > MAX_BODY_BYTES) throw payloadTooLarge()
    const reserved = Number.isFinite(declared) && declared > 0 ? declared : 0
    if (inFlight + reserved > limits.inFlightBytes) throw busy()
    return reserved
  }

  const isSmall = (reserved: number) => reserved > 0 && reserved <= SMALL_BODY_BYTES

  /** Any body with a declared length above SMALL_BODY_BYTES or none: chunk by chunk, each chunk resetting the stall clock. */
  async function readStream(request: Request, declared: number): Promise<Uint8Array> {
    let reserved = declared
    const stream = request.body
    if (stream === null) return new Uint8Array(0)
    inFlight += reserved
    const reader = stream.getReader()
    const chunks: Uint8Array[] = []
    let size = 0
    let failure: HttpError | null = null
    let wake: (() => void) | null = null
    const reading: Reading = {
      lastProgress: performance.now(),
      abort(error) {
        failure = error
        readings.delete(reading)
        reader.cancel().catch(() => {})
        wake?.()
      },
    }
    track(reading)
    try {
      for (;;) {
        const next = reader.read()
        const result = await new Promise<{ done: boolean; value?: Uint8Array } | null>((resolve, reject) => {
          wake = () => resolve(null)
          next.then(resolve, reject)
        })
        if (failure) throw failure
        if (result === null || result.done || !result.value) break
        reading.lastProgress = performance.now()
        size += result.value.byteLength
        if (size > MAX_BODY_BYTES) throw payloadTooLarge()
        if (size > reserved) {
          if (inFlight + (size - reserved) > limits.inFlightBytes) throw busy()
          inFlight += size - reserved
          reserved = size
        }
        chunks.push(result.value)
      }
    } catch (error) {
      if (!failure) reader.cancel().catch(() => {})
      throw error instanceof HttpError ? error : malformedRequest()
    } finally {
      readings.delete(reading)
      inFlight -= reserved
    }
    if (chunks.length === 1) return chunks[0]!
    const out = new Uint8Array(size)
    let offset = 0
    for (const chunk of chunks) {
      out.set(chunk, offset)
      offset += chunk.byteLength
    }
    return out
  }

  /** The raw bytes of a request body (for webhooks, whose signatures cover the exact bytes). */
  async function read(request: Request): Promise<Uint8Array> {
    // Decided before touching `request.body`: materialising the stream takes Bun off its fast path.
    const reserved = admit(request)
    if (isSmall(reserved)) return new Uint8Array(await readSmall(request, reserved, () => request.arrayBuffer()))
    return readStream(request, reserved)
  }

  return {
    read,
    /** The JSON body of a request (null when there is none): 415 for another media type, 400 when unparsable. */
    async json(request: Request): Promise<unknown> {
      const contentType = request.headers.get('content-type') ?? ''
      const type = contentType.split(';', 1)[0]!.trim().toLowerCase()
      if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) throw unsupportedMediaType()
      const reserved = admit(request)
      // JSON is UTF-8 (RFC 8259): decoded by Bun's text() on the fast path.
      const text = isSmall(reserved) ? await readSmall(request, reserved, () => request.text()) : new TextDecoder().decode(await readStream(request, reserved))
      if (text.length === 0 && type === '') return null
      if (type === '') throw unsupportedMediaType()
      try {
        return JSON.parse(text)
      } catch {
        throw malformedRequest()
      }
    },
    inFlight: () => inFlight,
  }
}

export type BodyReader = ReturnType<typeof createBodyReader>
