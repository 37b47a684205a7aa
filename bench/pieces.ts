/**
 * `bun bench/pieces.ts`: what each piece we put on a request costs inside Elysia. Minimal apps are built up
 * one piece at a time (bench/pieces-server.ts), and the whole server's hot routes are loaded beside them;
 * every round starts each server in turn (interleaved, so the machine's drift touches all alike), loads it
 * with `wrk -t1 -c32` for PIECES_SECONDS (2), and the table gives the median of ROUNDS (5) rounds, as
 * requests/s and as a ratio to the bare Bun.serve of the same round. Needs wrk and `bun run bench`'s seed.
 */
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { cpus } from 'node:os'
import { DATA_DIR, seed } from './seed'
import { wrkScript } from './wrk-routes'

const ROUNDS = Number(Bun.env.ROUNDS ?? 5)
const SECONDS = Number(Bun.env.PIECES_SECONDS ?? 2)
const PORT = 19_300
const credentials = await seed()
const work = join(DATA_DIR, 'pieces.db')
for (const suffix of ['', '-wal', '-shm']) rmSync(work + suffix, { force: true })
copyFileSync(credentials.file, work)

interface Variant {
  name: string
  pieces: string
  path: string
  script?: string
  headers?: string[]
}
const validate = wrkScript('pieces-validate', ['wrk.method = "POST"', 'wrk.headers["content-type"] = "application/json"', `wrk.body = '{"token":"${credentials.token}"}'`])
const bearer = [`authorization: Bearer ${credentials.token}`]
const variants: Variant[] = [
  { name: 'bare Bun.serve', pieces: 'bun', path: '/' },
  { name: 'bare Elysia route', pieces: 'elysia', path: '/x' },
  { name: '+ OpenAPI plugin mounted', pieces: 'elysia,openapi', path: '/x' },
  { name: '+ core: request id, CORS, Host check, error mapping (log off)', pieces: 'elysia,core', path: '/x' },
  { name: '+ access-log line', pieces: 'elysia,core,log', path: '/x' },
  { name: '+ metrics sample', pieces: 'elysia,core,log,metrics', path: '/x' },
  { name: '+ client address and a rate-limit decision', pieces: 'elysia,core,log,metrics,address', path: '/x' },
  { name: 'server: GET /health', pieces: 'app', path: '/health' },
  { name: 'server: POST /v1/auth/validate', pieces: 'app', path: '/v1/auth/validate', script: validate },
  { name: 'server: GET /v1/executions (cached page, 1M rows)', pieces: 'app', path: '/v1/executions?org=bench&repo=r1m&limit=10', headers: bearer },
  { name: 'server: GET /v1/badge (cached)', pieces: 'app', path: '/v1/badge/bench/r1k' },
]

async function up(url: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      if ((await fetch(url)).status < 500) return
    } catch {
      // not listening yet
    }
    await Bun.sleep(10)
  }
  throw new Error(`${url} did not come up`)
}

async function measure(variant: Variant): Promise<number> {
  const server = Bun.spawn(['bun', join(import.meta.dir, 'pieces-server.ts')], {
    env: { ...Bun.env, PIECES: variant.pieces, PORT: String(PORT), DATABASE_URL: work },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  try {
    await up(`http://127.0.0.1:${PORT}${variant.pieces === 'app' ? '/health' : variant.path}`)
    const args = ['wrk', '-t1', '-c32', `-d${SECONDS}s`]
    if (variant.script) args.push('-s', variant.script)
    for (const header of variant.headers ?? []) args.push('-H', header)
    // One short warm-up load (JIT, caches), then the counted one.
    Bun.spawnSync([...args.slice(0, 3), '-d1s', ...args.slice(4), `http://127.0.0.1:${PORT}${variant.path}`])
    const out = Bun.spawnSync([...args, `http://127.0.0.1:${PORT}${variant.path}`]).stdout.toString()
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0)
  } finally {
    server.kill()
    await server.exited
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!
const rps = new Map<string, number[]>(variants.map((v) => [v.name, []]))
const ratios = new Map<string, number[]>(variants.map((v) => [v.name, []]))
for (let round = 1; round <= ROUNDS; round++) {
  const got = new Map<string, number>()
  for (const variant of variants) got.set(variant.name, await measure(variant))
  const bare = got.get(variants[0]!.name)!
  for (const [name, value] of got) {
    rps.get(name)!.push(value)
    ratios.get(name)!.push(value / bare)
  }
  console.error(`round ${round}/${ROUNDS} done (bare ${Math.round(bare)} req/s)`)
}
const bareMedian = median(rps.get(variants[0]!.name)!)
const lines = [
  `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Bun ${Bun.version}, wrk -t1 -c32 -d${SECONDS}s, ${ROUNDS} interleaved rounds, ${new Date().toISOString().slice(0, 10)}`,
  '',
  '| app | requests/s (median) | ratio to bare Bun.serve (median of the rounds) | µs per request over bare |',
  '|---|---:|---:|---:|',
  ...variants.map((v) => {
    const r = median(rps.get(v.name)!)
    return `| ${v.name} | ${Math.round(r).toLocaleString('en')} | ${median(ratios.get(v.name)!).toFixed(2)} | ${v.pieces === 'bun' ? '' : (1e6 / r - 1e6 / bareMedian).toFixed(1)} |`
  }),
]
console.log(lines.join('\n'))
for (const suffix of ['', '-wal', '-shm']) rmSync(work + suffix, { force: true })
