/**
 * `bun bench/abuse.ts`: replays the outside attack's resource and timing probes against a real server
 * on loopback (bounded in count and time) and prints what it measured, for BENCHMARKS.md:
 *
 * 1. timing: "unknown token" against "a secret that spells a real token's id" (the old format's lookup
 *    key), 20,000 alternating in-process validations each, and the z statistic of the difference;
 * 2. 1,000 unauthenticated uploads declaring 1 MiB that stall one byte before the end: the server's RSS
 *    and whether /health and an authenticated request still answer at once;
 * 3. 600 concurrent unauthenticated uploads of a whole 1 MiB each: the server's peak RSS;
 * 4. 2,000 distinct list cursors over long runs from one token: the server's peak RSS;
 * 5. 2,000 event streams opened with one enterprise token: how many are let in, and /health meanwhile.
 * `ONLY=timing|stalled|uploads|cursors|streams` runs one.
 */
import { mkdtempSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../src/app'
import { loadConfig } from '../src/config'
import { openDatabase } from '../src/db/client'
import { createTokenVerifier } from '../src/modules/tokens/verifier'
import { systemClock } from '../src/lib/clock'

const ROOT = join(import.meta.dir, '..')
const quiet = { debug() {}, info() {}, warn() {}, error() {}, access() {}, audit() {} }

async function timing() {
  const config = loadConfig({ DATABASE_URL: ':memory:', SERVICE_TOKEN: 's', RATE_LIMIT_ADDRESS_PER_MINUTE: '10000000' })
  const db = openDatabase(':memory:')
  const app = createApp({ config, db, logger: quiet })
  const post = (path: string, body: unknown, token?: string) =>
    app.handle(new Request(`http://localhost${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })).then((r) => r.json())
  const session = (await post('/v1/sessions/create', { user_id: 'u', org_slug: 'acme' }, 's')).token
  const token = await post('/v1/tokens', { name: 'ci' }, session)
  // The verifier the app builds, made here on the same database: only its work is timed.
  const verifier = createTokenVerifier(db, systemClock)
  const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')
  // Distinct strings on both sides, made before timing: only the verifier's work is measured.
  const unknown = Array.from({ length: 22_000 }, () => `nlp_${hex(20)}`)
  const spelled = Array.from({ length: 22_000 }, () => `nlp_${token.id.replaceAll('-', '')}${hex(4)}`)
  const samples = { unknown: [] as number[], spelled: [] as number[] }
  for (let i = 0; i < 2000; i++) verifier.verify(i % 2 ? spelled[i]! : unknown[i]!)
  for (let i = 2000; i < 22_000; i++) {
    let t0 = Bun.nanoseconds()
    verifier.verify(unknown[i]!)
    samples.unknown.push(Bun.nanoseconds() - t0)
    t0 = Bun.nanoseconds()
    verifier.verify(spelled[i]!)
    samples.spelled.push(Bun.nanoseconds() - t0)
  }
  const stats = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b).slice(0, Math.floor(xs.length * 0.99)) // drop the top 1 % (GC pauses)
    const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length
    const variance = sorted.reduce((s, x) => s + (x - mean) ** 2, 0) / (sorted.length - 1)
    return { mean, variance, n: sorted.length }
  }
  const u = stats(samples.unknown)
  const s = stats(samples.spelled)
  const z = (s.mean - u.mean) / Math.sqrt(u.variance / u.n + s.variance / s.n)
  console.log(`timing: unknown ${(u.mean / 1000).toFixed(2)} µs, id-spelling ${(s.mean / 1000).toFixed(2)} µs, difference ${((s.mean - u.mean) / 1000).toFixed(3)} µs, z = ${z.toFixed(2)} (20,000 each)`)
  db.close()
}

function rssMb(pid: number): number {
  const status = require('node:fs').readFileSync(`/proc/${pid}/status`, 'utf8') as string
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024)
}

async function server(extra: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'nolapse-abuse-'))
  const file = join(dir, 'a.db')
  const cli = (...args: string[]) => Bun.spawnSync(['bun', 'src/cli/index.ts', ...args], { cwd: ROOT, env: { ...process.env, DATABASE_URL: file } }).stdout.toString().trim()
  cli('org', 'create', 'acme', '--plan', 'enterprise')
  const token = cli('token', 'create', '--org', 'acme', '--name', 'ci')
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const proc = Bun.spawn(['bun', ...(Bun.env.BENCH_BUN_FLAGS?.split(' ').filter(Boolean) ?? []), 'src/index.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: file, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error', ...extra },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  for (let i = 0; i < 300; i++) {
    if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) break
    await Bun.sleep(10)
  }
  return { port, token, proc }
}

async function timed(url: string, init?: RequestInit): Promise<string> {
  const t0 = performance.now()
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) }).catch(() => null)
  return `${res?.status ?? 'no answer'} in ${(performance.now() - t0).toFixed(1)} ms`
}

async function stalledUploads() {
  const { port, token, proc } = await server({})
  const before = rssMb(proc.pid)
  const sockets: Socket[] = []
  const chunk = Buffer.alloc(64 * 1024, 'a')
  let answered = 0
  for (let i = 0; i < 1000; i++) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    socket.once('data', (data) => {
      if (data.toString('latin1').startsWith('HTTP/1.1 401')) answered++
    })
    socket.write(`POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024}\r\n\r\n`)
    for (let k = 0; k < 15; k++) socket.write(chunk)
    socket.write(Buffer.alloc(64 * 1024 - 1, 'a'))
    sockets.push(socket)
  }
  await Bun.sleep(1500)
  const during = rssMb(proc.pid)
  const health = await timed(`http://127.0.0.1:${port}/health`)
  const list = await timed(`http://127.0.0.1:${port}/v1/executions?org=acme&repo=r`, { headers: { authorization: `Bearer ${token}` } })
  console.log(`stalled uploads: 1,000 × 1 MiB without a credential: RSS ${before} → ${during} MB; /health ${health}; list ${list}; ${answered} of 1,000 already answered 401`)
  for (const s of sockets) s.destroy()
  proc.kill()
  await proc.exited
}

async function streams() {
  const { port, token, proc } = await server({ RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000' })
  // Raw sockets: fetch's own connection pool would queue the requests past its limit.
  const sockets: Socket[] = []
  const statuses: Record<string, number> = {}
  for (let i = 0; i < 2000; i++) {
    const socket = connect(port, '127.0.0.1')
    socket.on('error', () => {})
    sockets.push(socket)
    const status = await new Promise<string>((resolve) => {
      socket.once('data', (data) => resolve(data.toString('latin1').split(' ', 2)[1] ?? '?'))
      socket.once('close', () => resolve('closed'))
      socket.write(`GET /v1/executions/stream?org=acme&repo=r HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`)
    })
    statuses[status] = (statuses[status] ?? 0) + 1
  }
  const health = await timed(`http://127.0.0.1:${port}/health`)
  console.log(`streams: 2,000 opened with one enterprise token: ${JSON.stringify(statuses)}; /health ${health}; server RSS ${rssMb(proc.pid)} MB`)
  for (const s of sockets) s.destroy()
  proc.kill()
  await proc.exited
}

/** Peak RSS of `pid` sampled every 20 ms while `work` runs. */
async function peakRss(pid: number, work: () => Promise<void>): Promise<number> {
  let peak = rssMb(pid)
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 20)
  await work()
  clearInterval(sampler)
  return Math.max(peak, rssMb(pid))
}

/** 600 concurrent unauthenticated uploads of a whole 1 MiB body each (the second attack's probe). */
async function concurrentUploads() {
  const { port, proc } = await server({})
  const before = rssMb(proc.pid)
  const body = Buffer.alloc(1024 * 1024, ' ')
  const statuses: Record<string, number> = {}
  const peak = await peakRss(proc.pid, async () => {
    await Promise.all(
      Array.from({ length: 600 }, () => {
        const socket = connect(port, '127.0.0.1')
        socket.on('error', () => {})
        return new Promise<void>((resolve) => {
          socket.once('data', (data) => {
            const status = data.toString('latin1').split(' ', 2)[1] ?? '?'
            statuses[status] = (statuses[status] ?? 0) + 1
          })
          socket.once('close', () => resolve())
          setTimeout(() => (socket.destroy(), resolve()), 10_000)
          socket.write(`POST /v1/executions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
          socket.write(body)
        })
      }),
    )
    await Bun.sleep(500)
  })
  console.log(`concurrent uploads: 600 × 1 MiB without a credential: RSS ${before} MB, peak ${peak} MB (+${peak - before}); answers ${JSON.stringify(statuses)}`)
  proc.kill()
  await proc.exited
}

/** 2,000 distinct list cursors over 100 long runs, from one token. */
async function cursorWalk() {
  const { port, token, proc } = await server({ RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000' })
  const base = `http://127.0.0.1:${port}`
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const ids: string[] = []
  // The longest name the policy allows: five parts of 100 characters.
  const repo = Array.from({ length: 5 }, () => 'r'.repeat(100)).join('/')
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${base}/v1/executions`, { method: 'POST', headers: auth, body: JSON.stringify({ repo, branch: 'b'.repeat(255), coverage: i % 100, commit: 'c'.repeat(40) }) })
    ids.push(((await res.json()) as { id: string }).id)
  }
  const before = rssMb(proc.pid)
  const cursor = (id: string) => Buffer.from(id).toString('base64url')
  const peak = await peakRss(proc.pid, async () => {
    for (let limit = 81; limit <= 100; limit++)
      for (let start = 100; start < 200; start += 4)
        await Promise.all(
          [0, 1, 2, 3].map((k) => fetch(`${base}/v1/executions?org=acme&repo=${repo}&limit=${limit}&cursor=${cursor(ids[start + k]!)}`, { headers: auth }).then((r) => r.text())),
        )
  })
  console.log(`cursor walk: 2,000 distinct cursors × up to 100 long runs, one token: RSS ${before} MB, peak ${peak} MB (+${peak - before})`)
  proc.kill()
  await proc.exited
}

const only = Bun.env.ONLY
if (!only || only === 'timing') await timing()
if (!only || only === 'stalled') await stalledUploads()
if (!only || only === 'uploads') await concurrentUploads()
if (!only || only === 'cursors') await cursorWalk()
if (!only || only === 'streams') await streams()
process.exit(0)
