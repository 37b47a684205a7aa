/**
 * A bounded least-recently-used map: memory stays flat however many distinct keys appear. Bounded by
 * entries, and with `weigh` also by their total weight (bytes, roughly): 2,000 entries of 100 long runs each
 * would otherwise be hundreds of MB.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, V>()
  private weight = 0
  constructor(
    private readonly max: number,
    private readonly bound?: { maxWeight: number; weigh: (key: K, value: V) => number },
  ) {}

  get(key: K): V | undefined {
    const value = this.map.get(key)
    if (value !== undefined) {
      this.map.delete(key)
      this.map.set(key, value)
    }
    return value
  }

  set(key: K, value: V): void {
    this.delete(key)
    const weight = this.bound?.weigh(key, value) ?? 0
    // One entry heavier than the whole bound is not kept at all.
    if (this.bound && weight > this.bound.maxWeight) return
    this.map.set(key, value)
    this.weight += weight
    while (this.map.size > this.max || (this.bound && this.weight > this.bound.maxWeight)) this.delete(this.map.keys().next().value as K)
  }

  delete(key: K): void {
    const value = this.map.get(key)
    if (value === undefined) return
    this.map.delete(key)
    if (this.bound) this.weight -= this.bound.weigh(key, value)
  }

  clear(): void {
    this.map.clear()
    this.weight = 0
  }

  get size(): number {
    return this.map.size
  }

  /** The total weight of the entries (0 without `weigh`). */
  get bytes(): number {
    return this.weight
  }
}
