import type { ExecutionView } from './format'

export type ExecutionListener = (execution: ExecutionView) => void

/**
 * In-process fan-out of new executions to open streams, by organisation and repository name (a stream
 * may open before the repository's first run gives it an id). Streams also poll the
 * database (see stream.ts), so runs ingested by another instance still arrive.
 */
export function createExecutionBus() {
  const listeners = new Map<string, Set<ExecutionListener>>()
  return {
    subscribe(key: string, listener: ExecutionListener): () => void {
      let set = listeners.get(key)
      if (!set) listeners.set(key, (set = new Set()))
      set.add(listener)
      return () => {
        set.delete(listener)
        if (set.size === 0) listeners.delete(key)
      }
    },
    publish(key: string, execution: ExecutionView): void {
      const set = listeners.get(key)
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

export const streamKey = (orgId: string, repo: string) => `${orgId}\0${repo}`
