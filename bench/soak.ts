/**
 * A short soak, not run in CI: `bun bench/soak.ts [seconds]` (default 180). Starts the real server on
 * loopback with a seeded database, drives a bounded mixed load (validate, ingest, list, badge, trend,
 * repos, usage) from a fixed number of clients, samples the server's RSS every 5 s and stops by itself.
 * It fails (exit 1) if any request fails or memory keeps growing after the warm-up.
 */
import { copyFileSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DATA_DIR, seed } from './seed'

const SECONDS = Number(Bun.argv[2] ?? 180)
const CLIENTS = 16
const MAX_REQUESTS = 5_000_000
const ROOT = join(import.meta.dir, '..')
const PORT = 19_700

const credentials = await seed()
const file = join(DATA_DIR, 'soak.db')
for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true })
copyFileSync(credentials.file, file)
const server = Bun.spawn(['bun', 'src/index.ts'], {
  cwd: ROOT,
  env: { ...process.env, DATABASE_URL: file, PORT: String(PORT), HOST: '127.0.0.1', RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000', RATE_LIMIT_ADDRESS_PER_MINUTE: '10000000' },
  stdout: 'ignore',
  stderr: 'inherit',
})
const base = `http://127.0.0.1:${PORT}`
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${base}/health`)).ok) break
  } catch {}
  if (i > 500) throw new Error('server did not start')
  await Bun.sleep(10)
}

const auth = { authorization: `Bearer ${credentials.token}` }
const session = { authorization: `Bearer ${credentials.session}` }
const json = { 'content-type': 'application/json' }
const mix: (() => Promise<Response>)[] = [
  () => fetch(`${base}/v1/auth/validate`, { method: 'POST', headers: json, body: JSON.stringify({ token: credentials.token }) }),
  () => fetch(`${base}/v1/executions`, { method: 'POST', headers: { ...auth, ...json }, body: JSON.stringify({ repo: `soak-${Math.floor(Math.random() * 20)}`, branch: 'main', coverage: Math.random() * 100, baseline: 70 }) }),
  () => fetch(`${base}/v1/executions?org=bench&repo=r1m&limit=10`, { headers: auth }),
  () => fetch(`${base}/v1/executions?org=bench&repo=soak-${Math.floor(Math.random() * 20)}&limit=50`, { headers: auth }),
  () => fetch(`${base}/v1/badge/bench/soak-${Math.floor(Math.random() * 20)}?style=${['flat', 'flat-square', 'for-the-badge'][Math.floor(Math.random() * 3)]}`),
  () => fetch(`${base}/v1/trend/bench/soak-${Math.floor(Math.random() * 20)}?n=20`),
  () => fetch(`${base}/v1/repos`, { headers: session }),
  () => fetch(`${base}/v1/usage`, { headers: session }),
  () => fetch(`${base}/health`),
]

let requests = 0
let failures = 0
const failuresByStatus = new Map<number, number>()
const deadline = performance.now() + SECONDS * 1000
const samples: { t: number; rssMb: number }[] = []
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
const sampler = setInterval(() => samples.push({ t: Math.round((SECONDS * 1000 - (deadline - performance.now())) / 1000), rssMb: Math.round(rss()) }), 5000)

await Promise.all(
  Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < deadline && requests < MAX_REQUESTS) {
      const res = await mix[Math.floor(Math.random() * mix.length)]!()
      await res.arrayBuffer()
      requests++
      if (res.status >= 400) {
        failures++
        failuresByStatus.set(res.status, (failuresByStatus.get(res.status) ?? 0) + 1)
      }
    }
  }),
)
clearInterval(sampler)
server.kill()
await server.exited

const afterWarmup = samples.filter((s) => s.t >= Math.min(30, SECONDS / 3))
const first = afterWarmup[0]?.rssMb ?? 0
const last = afterWarmup[afterWarmup.length - 1]?.rssMb ?? 0
console.log(`soak: ${SECONDS} s, ${requests} requests (${Math.round(requests / SECONDS)}/s), ${failures} failed ${JSON.stringify(Object.fromEntries(failuresByStatus))}`)
console.log(`RSS MB every 5 s: ${samples.map((s) => s.rssMb).join(' ')}`)
console.log(`after warm-up: ${first} MB → ${last} MB`)
const growing = last > first * 1.25 + 10
if (failures > 0 || growing) {
  console.log(failures > 0 ? 'FAIL: requests failed' : 'FAIL: memory kept growing')
  process.exit(1)
}
console.log('PASS')
