/**
 * `BENCH_DATABASE_URL=postgres://… bun bench/scale.ts`: throughput of 1, 2 and 3 server instances on one
 * PostgreSQL (the seed of bench/seed-pg.ts) for validate, list and ingest. Each instance gets its own wrk
 * (32 connections shared out), run at the same time; the figure is their sum. Loopback only, bounded.
 */
import { join } from 'node:path'
import { cpus } from 'node:os'
import { seed } from './seed'
import { hotRoutes } from './wrk-routes'
import { seedPostgres } from './seed-pg'

const URL_ = Bun.env.BENCH_DATABASE_URL
if (!URL_) throw new Error('set BENCH_DATABASE_URL=postgres://…')
const SECONDS = Number(Bun.env.BENCH_SECONDS ?? 6)
const ROOT = join(import.meta.dir, '..')
const credentials = await seed()
await seedPostgres(URL_, credentials)

const routes = hotRoutes(credentials, 'scale')

async function up(port: number) {
  for (let i = 0; i < 200; i++) {
    if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) return
    await Bun.sleep(50)
  }
  throw new Error('instance did not start')
}

const rows: string[] = []
for (const n of [1, 2, 3]) {
  const ports = Array.from({ length: n }, (_, i) => 19_300 + i)
  const servers = ports.map((port) =>
    Bun.spawn(['bun', 'src/index.ts'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: URL_, PORT: String(port), HOST: '127.0.0.1', DATABASE_POOL_SIZE: '10', RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000', RATE_LIMIT_ADDRESS_PER_MINUTE: '10000000', LOG_LEVEL: 'error' },
      stdout: 'ignore',
      stderr: 'inherit',
    }),
  )
  await Promise.all(ports.map(up))
  const cells: string[] = []
  for (const route of routes) {
    const outputs = await Promise.all(
      ports.map(async (port) => {
        const proc = Bun.spawn(['wrk', '-t1', `-c${Math.ceil(32 / n)}`, `-d${SECONDS}s`, '-s', route.script, `http://127.0.0.1:${port}${route.path}`], { stdout: 'pipe' })
        return new Response(proc.stdout).text()
      }),
    )
    const rps = outputs.reduce((sum, out) => sum + Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0), 0)
    cells.push(Math.round(rps).toLocaleString('en'))
  }
  rows.push(`| ${n} | ${cells.join(' | ')} |`)
  for (const server of servers) server.kill()
  await Promise.all(servers.map((s) => s.exited))
}
console.log(`${cpus().length} × ${cpus()[0]?.model}; Bun ${Bun.version}; wrk -t1, 32 connections in all, ${SECONDS} s; ${new Date().toISOString().slice(0, 10)}\n`)
console.log('| instances | validate req/s | list req/s | ingest runs/s |\n|---:|---:|---:|---:|\n' + rows.join('\n'))
