import { describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Database } from 'bun:sqlite'
import { onPostgres } from '../helpers/db'
import { freePort } from '../helpers/process'

/*
 * Crash safety against the real server: continuous ingestion from several clients, `kill -9` in the
 * middle of it, restart, several times. Every execution that was answered 201 must be there afterwards,
 * every repository counter must equal its real row count, and SQLite must report `ok` for integrity.
 */
const ROOT = join(import.meta.dir, '..', '..')
const CYCLES = 4

function cli(databaseUrl: string, ...args: string[]): string {
  const proc = Bun.spawnSync(['bun', 'src/cli/index.ts', ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: databaseUrl } })
  if (proc.exitCode !== 0) throw new Error(proc.stderr.toString())
  return proc.stdout.toString().trim()
}

async function up(port: number, server: Bun.Subprocess<'ignore', 'ignore', 'pipe'>): Promise<void> {
  for (let i = 0; i < 1000 && server.exitCode === null; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return
    } catch {
      // not yet
    }
    await Bun.sleep(10)
  }
  server.kill()
  await server.exited
  throw new Error(`server did not start (exit ${server.exitCode}): ${(await new Response(server.stderr).text()).slice(-2000)}`)
}

// SQLite's own crash safety (its file, its WAL): run once, in the SQLite pass of the suite.
describe.skipIf(onPostgres)('crash safety', () => {
  test('kill -9 during ingestion loses no acknowledged execution and leaves counters exact', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nolapse-crash-')), 'crash.db')
    cli(file, 'org', 'create', 'crash', '--plan', 'enterprise')
    const token = cli(file, 'token', 'create', '--org', 'crash', '--name', 'ci')
    const acknowledged = new Set<string>()
    let attempts = 0
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const port = await freePort()
      const server = Bun.spawn(['bun', 'src/index.ts'], {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: file, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error', RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000' },
        stdout: 'ignore',
        stderr: 'pipe',
      })
      await up(port, server)
      let running = true
      const client = async (c: number) => {
        let i = 0
        while (running) {
          attempts++
          try {
            const res = await fetch(`http://127.0.0.1:${port}/v1/executions`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body: JSON.stringify({ repo: `repo-${c % 3}`, branch: 'main', coverage: (i++ % 100) + 0.5 }),
            })
            if (res.status === 201) acknowledged.add((await res.json()).id)
          } catch {
            return // the server died under us
          }
        }
      }
      const clients = Array.from({ length: 8 }, (_, c) => client(c))
      // Kill mid-stream: once this cycle has had some runs acknowledged (however busy the machine), then at a random moment.
      const target = acknowledged.size + 30
      for (let i = 0; i < 1000 && acknowledged.size < target; i++) await Bun.sleep(10)
      await Bun.sleep(Math.random() * 100)
      server.kill('SIGKILL')
      await server.exited
      running = false
      await Promise.all(clients)
    }
    expect(acknowledged.size).toBeGreaterThan(100)
    const db = new Database(file)
    expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
    const stored = new Set((db.query('SELECT id FROM executions').all() as { id: string }[]).map((r) => r.id))
    const missing = [...acknowledged].filter((id) => !stored.has(id))
    expect(missing).toEqual([])
    const drift = db.query('SELECT count(*) AS n FROM repositories r WHERE execution_count != (SELECT count(*) FROM executions e WHERE e.repo_id = r.id)').get()
    expect(drift).toEqual({ n: 0 })
    db.close()
    console.log(`crash safety: ${CYCLES} kills, ${attempts} attempts, ${acknowledged.size} acknowledged, all present`)
  }, 60_000)
})
