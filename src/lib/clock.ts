/** Time comes from here so tests of TTLs, grace periods, rate windows and retention never sleep. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock tests move by hand. */
export function manualClock(start = Date.UTC(2026, 2, 18, 9, 0, 0)): Clock & { advance(ms: number): void; set(ms: number): void } {
  let current = start
  return {
    now: () => current,
    advance: (ms) => { current += ms },
    set: (ms) => { current = ms },
  }
}

/** ISO 8601 UTC with second precision: "2026-03-18T09:00:00Z". */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}
