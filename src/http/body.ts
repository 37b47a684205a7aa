import { addressBucket, clientAddress, type Peer } from './client-address'
import { HttpError, malformedRequest, payloadTooLarge, unsupportedMediaType } from './errors'

export const MAX_BODY_BYTES = 1024 * 1024
/** Up to this declared size a body is read whole (Bun's fast path) under one stall deadline. */
const SMALL_BODY_BYTES = 64 * 1024

export interface BodyLimits {
  /** Bytes of bodies being read at once, all requests together (what has arrived, or a small body's declared length). */
  inFlightBytes: number
  /** The share of `inFlightBytes` one client address (an IPv6 /64) may hold; default an eighth, at least 1 MiB. */
  perAddressBytes?: number
  /** A body that sends nothing for this long is cut off. */
  stallMs: number
  /** A body must have arrived whole within this long, however it trickles (nginx's client_body_timeout plus a total). */
  totalMs?: number
  /** Past the first `stallMs`, a body arriving slower than this on average is cut off. */
  minBytesPerSecond?: number
}

export const BODY_TOTAL_MS = 30_000
export const BODY_MIN_BYTES_PER_SECOND = 1024

const busy = () => new HttpError(503, 'server busy: too many request bodies in flight', { 'retry-after': '1' })
const yourShare = () => new HttpError(503, 'server busy: too many request bodies in flight from your address', { 'retry-after': '1' })
const stalled = () => new HttpError(408, 'request body timed out')

interface Reading {
  started: number
  lastProgress: number
  /** Bytes arrived so far (a small body read whole by Bun reports none until it is done). */
  size: number
  abort: (error: HttpError) => void
}

/**
 * Reads request bodies under bounds that one client cannot lift:
 * - at most 1 MiB each;
 * - bytes held for bodies being read: `inFlightBytes` in all, `perAddressBytes` per client address. What is
 *   counted is what has arrived, never what a header declares, so declaring 1 MiB and sending a byte holds a
 *   byte (a small body read whole by Bun holds its declared length, at most 64 KiB, for at most `stallMs`);
 * - time: a body that sends nothing for `stallMs`, that arrives slower than `minBytesPerSecond` once
 *   `stallMs` has passed, or that has not arrived whole within `totalMs`, is cut off with 408. Trickling a
 *   byte a second resets no clock that matters.
 * One sweep timer runs only while bodies are being read.
 */
export function createBodyReader(limits: BodyLimits, trustProxy = false) {
  const addressOf = (request: Request, server: Peer) => addressBucket(clientAddress(request, server, trustProxy))
  const perAddress = limits.perAddressBytes ?? Math.max(1024 * 1024, Math.floor(limits.inFlightBytes / 8))
  const totalMs = limits.totalMs ?? BODY_TOTAL_MS
  const minRate = limits.minBytesPerSecond ?? BODY_MIN_BYTES_PER_SECOND
  let inFlight = 0
  const held = new Map<string, number>()
  const readings = new Set<Reading>()
  let sweeper: ReturnType<typeof setInterval> | undefined

  function sweep() {
    const now = performance.now()
    for (const reading of readings) {
      const elapsed = now - reading.started
      if (now - reading.lastProgress >= limits.stallMs || elapsed >= totalMs) reading.abort(stalled())
      else if (elapsed >= limits.stallMs && reading.size > 0 && (reading.size * 1000) / elapsed < minRate) reading.abort(stalled())
    }
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

  /** Takes `bytes` from the budget and from the address's share; 503 when either is spent. */
  function reserve(address: string, bytes: number): void {
    const mine = held.get(address) ?? 0
    if (mine + bytes > perAddress) throw yourShare()
    if (inFlight + bytes > limits.inFlightBytes) throw busy()
    inFlight += bytes
    held.set(address, mine + bytes)
  }

  function release(address: string, bytes: number): void {
    if (bytes === 0) return
    inFlight -= bytes
    const left = (held.get(address) ?? 0) - bytes
    if (left > 0) held.set(address, left)
    else held.delete(address)
  }

  /**
   * A small body with a declared length (every API call): read whole by Bun's own fast path, and cut off
   * if it has not all arrived within the stall time (a few KiB that take that long are stalled).
   */
  async function readSmall<T>(address: string, declared: number, whole: () => Promise<T>): Promise<T> {
    reserve(address, declared)
    const now = performance.now()
    const reading: Reading = { started: now, lastProgress: now, size: 0, abort: () => {} }
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
      release(address, declared)
    }
  }

  /** The declared length (0 when none is declared); 413 is decided here, before a byte is read. */
  function declaredLength(request: Request): number {
    const declared = Number(request.headers.get('content-length') ?? NaN)
    if (declared > MAX_BODY_BYTES) throw payloadTooLarge()
    return Number.isFinite(declared) && declared > 0 ? declared : 0
  }

  const isSmall = (declared: number) => declared > 0 && declared <= SMALL_BODY_BYTES

  /** Any body with a declared length above SMALL_BODY_BYTES or none: chunk by chunk, each chunk reserved as it arrives. */
  async function readStream(request: Request, address: string): Promise<Uint8Array> {
    const stream = request.body
    if (stream === null) return new Uint8Array(0)
    let reserved = 0
    const reader = stream.getReader()
    const chunks: Uint8Array[] = []
    let failure: HttpError | null = null
    let wake: (() => void) | null = null
    const now = performance.now()
    const reading: Reading = {
      started: now,
      lastProgress: now,
      size: 0,
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
        const bytes = result.value.byteLength
        if (reading.size + bytes > MAX_BODY_BYTES) throw payloadTooLarge()
        reserve(address, bytes)
        reserved += bytes
        reading.size += bytes
        reading.lastProgress = performance.now()
        chunks.push(result.value)
      }
    } catch (error) {
      if (!failure) reader.cancel().catch(() => {})
      throw error instanceof HttpError ? error : malformedRequest()
    } finally {
      readings.delete(reading)
      release(address, reserved)
    }
    if (chunks.length === 1) return chunks[0]!
    const out = new Uint8Array(reading.size)
    let offset = 0
    for (const chunk of chunks) {
      out.set(chunk, offset)
      offset += chunk.byteLength
    }
    return out
  }

  return {
    /** The raw bytes of a request body (for webhooks, whose signatures cover the exact bytes). */
    async read(request: Request, server: Peer): Promise<Uint8Array> {
      const address = addressOf(request, server)
      // Decided before touching `request.body`: materialising the stream takes Bun off its fast path.
      const declared = declaredLength(request)
      if (isSmall(declared)) return new Uint8Array(await readSmall(address, declared, () => request.arrayBuffer()))
      return readStream(request, address)
    },
    /** The JSON body of a request (null when there is none): 415 for another media type, 400 when unparsable. */
    async json(request: Request, server: Peer): Promise<unknown> {
      const contentType = request.headers.get('content-type') ?? ''
      const type = contentType.split(';', 1)[0]!.trim().toLowerCase()
      if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) throw unsupportedMediaType()
      const declared = declaredLength(request)
      const address = addressOf(request, server)
      // JSON is UTF-8 (RFC 8259): decoded by Bun's text() on the fast path.
      const text = isSmall(declared) ? await readSmall(address, declared, () => request.text()) : new TextDecoder().decode(await readStream(request, address))
      if (text.length === 0 && type === '') return null
      if (type === '') throw unsupportedMediaType()
      try {
        return JSON.parse(text)
      } catch {
        throw malformedRequest()
      }
    },
    inFlight: () => inFlight,
    /** Bytes held now for the bodies of one client address (its limit bucket: an IPv4 address or an IPv6 /64). */
    heldBy: (address: string) => held.get(addressBucket(address)) ?? 0,
  }
}

export type BodyReader = ReturnType<typeof createBodyReader>
