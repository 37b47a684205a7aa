/**
 * `bun bench/export.ts`: the whole history of the seed's 1M-run repository exported as CSV and as NDJSON
 * from a real server, read by a client as fast as it goes; prints the bytes, the time and the server's RSS
 * before and at its peak (VmHWM, sampled every 20 ms). BENCH_DATABASE_URL=postgres://… for PostgreSQL.
 */
import { copyFileSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DATA_DIR, seed } from './seed'
import { seedPostgres } from './seed-pg'

const credentials = await seed()
const PG_URL = Bun.env.BENCH_DATABASE_URL
const work = join(DATA_DIR, 'export.db')
for (const suffix of ['', '-wal', '-shm']) rmSync(work + suffix, { force: true })
copyFileSync(credentials.file, work)
if (PG_URL) await seedPostgres(PG_URL, credentials)
const port = 19_400
const server = Bun.spawn(['bun', 'src/index.ts'], {
  cwd: join(import.meta.dir, '..'),
  env: { ...Bun.env, PORT: String(port), HOST: '127.0.0.1', DATABASE_URL: PG_URL ?? work, LOG_LEVEL: 'warn', RATE_LIMIT_ENTERPRISE_PER_MINUTE: '10000000' },
  stdout: 'ignore',
  stderr: 'inherit',
})
const rss = (field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
for (let i = 0; i < 500; i++) {
  if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) break
  await Bun.sleep(20)
}
await Bun.sleep(1500) // the warm-up and the start-up sweep settle
for (const format of ['csv', 'ndjson', 'csv', 'ndjson']) {
  const before = rss('VmRSS')
  let peak = before
  const sampler = setInterval(() => (peak = Math.max(peak, rss('VmRSS'))), 20)
  const started = performance.now()
  const res = await fetch(`http://127.0.0.1:${port}/v1/executions/export?org=bench&repo=r1m&format=${format}`, { headers: { authorization: `Bearer ${credentials.token}` } })
  let bytes = 0
  let lines = 0
  const reader = res.body!.getReader()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    bytes += value.byteLength
    for (const byte of value) if (byte === 10) lines++
  }
  clearInterval(sampler)
  console.log(`${format}: ${lines.toLocaleString('en')} lines, ${(bytes / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s; server RSS ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB at most while streaming`)
}
server.kill()
await server.exited
for (const suffix of ['', '-wal', '-shm']) rmSync(work + suffix, { force: true })
