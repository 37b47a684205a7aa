import { HttpError } from '../../http/errors'

/** How many event streams may be open at once: per credential and per organisation by plan, and in all. */
export interface StreamCaps {
  perCredential: number
  perOrg: number
  /** The whole process: derived from the descriptor limit so streams can never starve other requests. */
  total: number
}

/** A cap is full: 429 with Retry-After (a stream slot frees when a client goes away). */
const full = (message: string) => new HttpError(429, message, { 'retry-after': '10' })

/**
 * Counts open streams and ends them when their credential ends. Each stream holds one lease from
 * `acquire` until it closes; `end(credential)` closes every stream opened with that credential (a revoke,
 * a rotation cutting a grace period short, a logout) at once.
 */
export function createStreamRegistry() {
  const byCredential = new Map<string, Set<() => void>>()
  const byOrg = new Map<string, number>()
  let total = 0

  return {
    /**
     * Takes a slot for one stream, or throws 429 naming the cap that is full. `close` ends the stream
     * (called by `end`); the returned function gives the slot back and is safe to call more than once.
     */
    acquire(credential: string, orgId: string, caps: StreamCaps, close: () => void): () => void {
      const mine = byCredential.get(credential)
      const orgOpen = byOrg.get(orgId) ?? 0
      if (total >= caps.total) throw full(`too many open event streams on this server (${total}/${caps.total})`)
      if (orgOpen >= caps.perOrg) throw full(`too many open event streams for this organisation (${orgOpen}/${caps.perOrg})`)
      if ((mine?.size ?? 0) >= caps.perCredential)
        throw full(`too many open event streams for this credential (${mine!.size}/${caps.perCredential})`)
      const set = mine ?? new Set()
      if (!mine) byCredential.set(credential, set)
      set.add(close)
      byOrg.set(orgId, orgOpen + 1)
      total++
      let released = false
      return () => {
        if (released) return
        released = true
        set.delete(close)
        if (set.size === 0) byCredential.delete(credential)
        const left = (byOrg.get(orgId) ?? 1) - 1
        if (left === 0) byOrg.delete(orgId)
        else byOrg.set(orgId, left)
        total--
      }
    },
    /** Ends every open stream of this credential (each releases its own slot as it closes). */
    end(credential: string): void {
      const set = byCredential.get(credential)
      if (set) for (const close of [...set]) close()
    },
    open: () => total,
  }
}

export type StreamRegistry = ReturnType<typeof createStreamRegistry>
