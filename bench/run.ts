/**
 * `bun run bench`: loads each hot route of the real server and a bare Bun.serve hello-world with the same
 * load generator, on loopback, and prints requests/s, p50, p99 and the ratio to hello-world from the
 * same run. Also cold start and peak RSS. Bounded: every load runs for DURATION seconds.
 *
 * Load generator: wrk (Debian: `apt-get install wrk`), else autocannon through bunx.
 *
 * PostgreSQL mode: `BENCH_DATABASE_URL=postgres://… bun run bench` copies the same seed into that database
 * (bench/seed-pg.ts, once) and runs the same loads against a server on it.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { cpus, totalmem } from 'node:os'
import { DATA_DIR, seed } from './seed'
import { seedPostgres } from './seed-pg'
import { redactUrl } from '../src/db/client'
import { Database } from 'bun:sqlite'

const DURATION = Number(Bun.env.BENCH_SECONDS ?? 5)
const CONNECTIONS = Number(Bun.env.BENCH_CONNECTIONS ?? 32)
const ROOT = join(import.meta.dir, '..')
const PG_URL = Bun.env.BENCH_DATABASE_URL
const HAS_WRK = Bun.spawnSync(['sh', '-c', 'command -v wrk']).exitCode === 0

interface Result {
  name: string
  rps: number
  p50: number
  p99: number
  ratio?: number
  /** The server's peak RSS (VmHWM) after this load, MB. */
  peakMb?: number
}

interface Target {
  name: string
  path: string
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** Lua for wrk making each request unique (uncached badge). */
  unique?: boolean
  /** Lua for wrk's request function, replacing the default (e.g. a rotation of URLs longer than a cache). */
  request?: string
  connections?: number
}

function luaScript(target: Target): string {
  const lines = [`wrk.method = "${target.method ?? 'GET'}"`]
  for (const [k, v] of Object.entries(target.headers ?? {})) lines.push(`wrk.headers["${k}"] = "${v}"`)
  if (target.body) lines.push(`wrk.body = [[${target.body}]]`)
  if (target.unique) lines.push('local n = 0', `request = function() n = n + 1; return wrk.format(nil, "${target.path}&label=l" .. n) end`)
  if (target.request) lines.push(target.request)
  return lines.join('\n')
}

function parseWrk(output: string): { rps: number; p50: number; p99: number } {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? 0)
  const ms = (label: string) => {
    const m = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(output)
    if (!m) return NaN
    const value = Number(m[1])
    return m[2] === 'us' ? value / 1000 : m[2] === 's' ? value * 1000 : value
  }
  return { rps, p50: ms('50'), p99: ms('99') }
}

async function load(base: string, target: Target): Promise<{ rps: number; p50: number; p99: number }> {
  const connections = target.connections ?? CONNECTIONS
  if (HAS_WRK) {
    const script = join(DATA_DIR, 'bench.lua')
    writeFileSync(script, luaScript(target))
    const proc = Bun.spawn(['wrk', '-t1', `-c${connections}`, `-d${DURATION}s`, '--latency', '-s', script, base + target.path], { stdout: 'pipe', stderr: 'pipe' })
    const output = await new Response(proc.stdout).text()
    await proc.exited
    const errors = /Non-2xx or 3xx responses: (\d+)/.exec(output)
    if (errors) console.error(`  ${target.name}: ${errors[1]} non-2xx answers`)
    return parseWrk(output)
  }
  const args = ['bunx', 'autocannon', '-j', '-c', String(connections), '-d', String(DURATION), '-m', target.method ?? 'GET']
  for (const [k, v] of Object.entries(target.headers ?? {})) args.push('-H', `${k}=${v}`)
  if (target.body) args.push('-b', target.body)
  const proc = Bun.spawn([...args, base + target.path + (target.unique ? '&label=x' : '')], { stdout: 'pipe', stderr: 'ignore' })
  const json = JSON.parse(await new Response(proc.stdout).text())
  return { rps: json.requests.average, p50: json.latency.p50, p99: json.latency.p99 }
}

async function waitFor(url: string, timeoutMs = 10_000): Promise<number> {
  const start = performance.now()
  for (;;) {
    try {
      const res = await fetch(url)
      if (res.ok) return performance.now() - start
    } catch {
      // not up yet
    }
    if (performance.now() - start > timeoutMs) throw new Error(`${url} did not come up`)
    await Bun.sleep(2)
  }
}

function startServer(file: string, port: number, entry = 'src/index.ts') {
  const proc = Bun.spawn(['bun', entry], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: file, RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000', RATE_LIMIT_ADDRESS_PER_MINUTE: '10000000', LOG_LEVEL: 'info' },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  return proc
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024
}

const credentials = await seed()
// A cursor 900,000 runs back in the 1M-run repository (the same ids in the PostgreSQL copy).
const deepCursor = (() => {
  const seeded = new Database(credentials.file, { readonly: true })
  const { id } = seeded.query("SELECT e.id FROM executions e JOIN repositories r ON r.id = e.repo_id WHERE r.name = 'r1m' ORDER BY e.id DESC LIMIT 1 OFFSET 900000").get() as { id: string }
  seeded.close()
  return Buffer.from(id).toString('base64url')
})()
const work = join(DATA_DIR, 'run.db')
for (const suffix of ['', '-wal', '-shm']) rmSync(work + suffix, { force: true })
copyFileSync(credentials.file, work)
if (PG_URL) await seedPostgres(PG_URL, credentials)
const database = PG_URL ?? work

// Cold start: process start to the first 200 on /health, median of five (on a copy of the 1.1M-row
// database), from the source (`bun start`) and from the bytecode bundle (`bun run build`, `start:built`).
if (Bun.spawnSync(['bun', 'run', 'build'], { cwd: ROOT, stdout: 'ignore' }).exitCode !== 0) throw new Error('bun run build failed')
async function coldStart(entry: string): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < 5; i++) {
    const port = 19_100 + i
    const started = performance.now()
    const proc = startServer(database, port, entry)
    await waitFor(`http://127.0.0.1:${port}/health`)
    times.push(performance.now() - started)
    proc.kill()
    await proc.exited
  }
  return times.sort((a, b) => a - b)
}
const coldStarts = await coldStart('src/index.ts')
const builtStarts = await coldStart('.build/server/index.js')

const hello = Bun.spawn(['bun', join(import.meta.dir, 'hello.ts')], { env: { ...process.env, PORT: '19001' }, stdout: 'ignore' })
await waitFor('http://127.0.0.1:19001/')
const baseline = await load('http://127.0.0.1:19001', { name: 'hello', path: '/' })
hello.kill()
await hello.exited

const server = startServer(database, 19002)
await waitFor('http://127.0.0.1:19002/health')
const base = 'http://127.0.0.1:19002'
const auth = { authorization: `Bearer ${credentials.token}` }
const json = { 'content-type': 'application/json' }
// Warm the badge cache for the cached-badge run.
await fetch(`${base}/v1/badge/bench/r1k`)
const targets: Target[] = [
  { name: 'GET /health', path: '/health' },
  { name: 'POST /v1/auth/validate', path: '/v1/auth/validate', method: 'POST', headers: json, body: JSON.stringify({ token: credentials.token }) },
  { name: 'GET /v1/executions (1k rows)', path: '/v1/executions?org=bench&repo=r1k&limit=10', headers: auth },
  { name: 'GET /v1/executions (100k rows)', path: '/v1/executions?org=bench&repo=r100k&limit=10', headers: auth },
  { name: 'GET /v1/executions (1M rows)', path: '/v1/executions?org=bench&repo=r1m&limit=10', headers: auth },
  { name: 'POST /v1/executions', path: '/v1/executions', method: 'POST', headers: { ...auth, ...json }, body: JSON.stringify({ repo: 'ingest', branch: 'main', coverage: 81.2, baseline: 80 }) },
  { name: 'GET /v1/badge (cached)', path: '/v1/badge/bench/r1k' },
  { name: 'GET /v1/badge (uncached, 1 connection)', path: '/v1/badge/bench/r1k?style=flat', unique: true, connections: 1 },
  { name: 'GET /v1/executions (1M rows, a 30-day window, oldest first)', path: `/v1/executions?org=bench&repo=r1m&limit=10&order=asc&since=${new Date(Date.now() - 30 * 86_400_000).toISOString()}`, headers: auth },
  { name: 'GET /v1/executions (1M rows, 900k runs deep: a cursor)', path: `/v1/executions?org=bench&repo=r1m&limit=10&cursor=${deepCursor}`, headers: auth },
  { name: 'GET /v1/executions (1M rows, commit=)', path: '/v1/executions?org=bench&repo=r1m&limit=10&commit=0123456789abcdef0123456789abcdef01234567', headers: auth },
  { name: 'GET /v1/trend (n=30)', path: '/v1/trend/bench/r1m?n=30' },
  {
    // 796 distinct graphs in rotation, more than the picture cache's 500: every request draws.
    name: 'GET /v1/trend (uncached, 1 connection)',
    path: '/v1/trend/bench/r1m',
    connections: 1,
    request: 'local i = 0\nrequest = function() i = i + 1; local k = i % 796; return wrk.format(nil, "/v1/trend/bench/r1m?n=" .. (k % 199 + 2) .. "&theme=" .. (math.floor(k / 199) % 2 == 0 and "light" or "dark") .. "&scale=" .. (math.floor(k / 398) % 2 == 0 and "auto" or "full")) end',
  },
  { name: 'GET /v1/analytics (1.1M rows, 365 d)', path: '/v1/analytics?days=365', headers: { authorization: `Bearer ${credentials.session}` }, connections: 2 },
]
const results: Result[] = [{ name: 'bare Bun.serve hello-world', ...baseline, ratio: 1 }]
for (const target of targets) {
  const measured = await load(base, target)
  results.push({ name: target.name, ...measured, ratio: measured.rps / baseline.rps, peakMb: peakRss(server.pid) })
}
const rss = peakRss(server.pid)
server.kill()
await server.exited

const cpu = cpus()[0]?.model ?? 'unknown CPU'
const header = `Database: ${PG_URL ? `PostgreSQL (${redactUrl(PG_URL)})` : 'SQLite (a copy of the seed file)'}. Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Bun ${Bun.version}; ${HAS_WRK ? 'wrk' : 'autocannon'} -t1 -c${CONNECTIONS} -d${DURATION}s; ${new Date().toISOString().slice(0, 10)}`
const table = [
  '| route | requests/s | p50 ms | p99 ms | ratio to hello-world | server peak RSS so far (MB) |',
  '|---|---:|---:|---:|---:|---:|',
  ...results.map((r) => `| ${r.name} | ${Math.round(r.rps).toLocaleString('en')} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.ratio!.toFixed(2)} | ${r.peakMb === undefined ? '' : r.peakMb.toFixed(0)} |`),
].join('\n')
const extra = `Cold start (process start → first 200 on /health, median of 5): ${coldStarts[2]!.toFixed(0)} ms (min ${coldStarts[0]!.toFixed(0)}, max ${coldStarts[4]!.toFixed(0)}) from the source; ${builtStarts[2]!.toFixed(0)} ms (min ${builtStarts[0]!.toFixed(0)}, max ${builtStarts[4]!.toFixed(0)}) built (bun run build)\nPeak RSS of the server under this load (VmHWM): ${rss.toFixed(0)} MB`
const report = `${header}\n\n${table}\n\n${extra}\n`
console.log(report)
mkdirSync(join(import.meta.dir, 'results'), { recursive: true })
writeFileSync(join(import.meta.dir, 'results', PG_URL ? 'latest-postgres.md' : 'latest.md'), report)
for (const suffix of ['', '-wal', '-shm']) if (existsSync(work + suffix)) rmSync(work + suffix)
