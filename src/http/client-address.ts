import type { Server } from 'bun'
import ipaddr from 'ipaddr.js'

/** The server a request came through (null in app.handle tests): where the peer address comes from. */
export type Peer = Server<unknown> | null | undefined

/**
 * The client's address: the socket's peer, or with TRUST_PROXY the first X-Forwarded-For entry
 * (only safe behind a proxy that overwrites that header). IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is
 * written as the IPv4 address it is, and IPv6 in its canonical short form.
 */
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/

/*
 * Bun's requestIP costs ~5 µs (a getpeername and an object per call), as much as the rest of a validate's
 * own work: read once per request, whoever asks (the address limit, the body reader, an audit line).
 */
const known = new WeakMap<Request, string>()

export function clientAddress(request: Request, server: Peer, trustProxy: boolean): string {
  let address = known.get(request)
  if (address === undefined) known.set(request, (address = readAddress(request, server, trustProxy)))
  return address
}

function readAddress(request: Request, server: Peer, trustProxy: boolean): string {
  let raw: string | undefined
  if (trustProxy) raw = request.headers.get('x-forwarded-for')?.split(',', 1)[0]!.trim() || undefined
  raw ??= server?.requestIP(request)?.address
  if (!raw) return 'unknown'
  // The common case, a plain IPv4 address, needs no parsing (this runs on every limited request).
  if (IPV4.test(raw)) return raw
  // Not an address (only possible through X-Forwarded-For): kept as sent, capped so it cannot bloat a key.
  if (!ipaddr.isValid(raw)) return raw.slice(0, 64)
  return ipaddr.process(raw).toString()
}

/**
 * The unit a per-address limit counts: an IPv4 address, or an IPv6 /64 — one subscriber's network, whose
 * 2^64 addresses a single client can rotate through at will.
 */
export function addressBucket(address: string): string {
  if (!address.includes(':') || !ipaddr.IPv6.isValid(address)) return address
  const parts = ipaddr.IPv6.parse(address).parts
  return `${parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`
}
