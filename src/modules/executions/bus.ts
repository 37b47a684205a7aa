import type { ExecutionView } from './format'

export type ExecutionListener = (execution: ExecutionView) => void

/**
 * In-process fan-out of new executions to open streams, by repository id. Streams also poll the
 * database (see stream.ts), so runs ingested by another instance still arrive.
 */
export function createExecutionBus() {
  const listeners = new Map<number, Set<ExecutionListener>>()
  return {
    subscribe(repoId: number, listener: ExecutionListener): () => void {
      let set = listeners.get(repoId)
      if (!set) listeners.set(repoId, (set = new Set()))
      set.add(listener)
      return () => {
        set.delete(listener)
        if (set.size === 0) listeners.delete(repoId)
      }
    },
    publish(repoId: number, execution: ExecutionView): void {
      const set = listeners.get(repoId)
      if (set) for (const listener of [...set]) listener(execution)
    },
    /** Open subscriptions, for tests that prove disconnects leak nothing. */
    size(): number {
      let n = 0
      for (const set of listeners.values()) n += set.size
      return n
    },
  }
}

export type ExecutionBus = ReturnType<typeof createExecutionBus>
