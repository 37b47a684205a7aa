import { readFileSync } from 'node:fs'

/** The process's soft limit on open files (Linux `/proc/self/limits`), or 1024 where it cannot be read. */
export function descriptorLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
    const soft = Number(line?.slice('Max open files'.length).trim().split(/\s+/, 1)[0])
    return Number.isFinite(soft) && soft > 0 ? soft : 1024
  } catch {
    return 1024
  }
}
