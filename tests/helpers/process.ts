import { join } from 'node:path'

export const ROOT = join(import.meta.dir, '..', '..')

/** A port nothing listens on right now (taken from the kernel and given back). */
export async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = server.port!
  server.stop(true)
  return port
}

/** Runs the real server (`bun src/index.ts`) with `env` until it exits: how a start-up refusal is seen. */
export async function runToExit(env: Record<string, string>) {
  const proc = Bun.spawn(['bun', 'src/index.ts'], { cwd: ROOT, env: { ...process.env, PORT: '0', ...env }, stdout: 'pipe', stderr: 'pipe' })
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  return { code, out, err }
}
