/** Cached answers come back at once; the database's answers come as promises. */
export type MaybePromise<T> = T | Promise<T>

/** Continues with `next` at once when `value` is already known, after it resolves otherwise. */
export function andThen<T, U>(value: MaybePromise<T>, next: (value: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value)
}
