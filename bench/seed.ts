/**
 * Seeds a benchmark database: one enterprise organisation with repositories of 1k, 100k and 1M
 * executions spread over the last 300 days, a session and an API token. The file is kept in
 * bench/.data and reused while its seed version matches.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/client'
import { sha256Hex } from '../src/lib/hash'
import { ulid } from 'ulidx'
import { randomHex, ulidAt } from '../src/lib/ids'
import { rebuildRollups } from '../src/modules/analytics/rollups'

const SEED_VERSION = 5
export const DATA_DIR = join(import.meta.dir, '.data')
export const SEED_FILE = join(DATA_DIR, `seed-v${SEED_VERSION}.db`)
export const REPOS = [
  { name: 'r1k', rows: 1_000 },
  { name: 'r100k', rows: 100_000 },
  { name: 'r1m', rows: 1_000_000 },
]
const DAY = 86_400_000

export interface Seed {
  file: string
  token: string
  session: string
}

export async function seed(): Promise<Seed> {
  mkdirSync(DATA_DIR, { recursive: true })
  const credentials = join(DATA_DIR, `seed-v${SEED_VERSION}.json`)
  if (existsSync(SEED_FILE) && existsSync(credentials)) return { file: SEED_FILE, ...JSON.parse(require('node:fs').readFileSync(credentials, 'utf8')) }
  for (const suffix of ['', '-wal', '-shm']) rmSync(SEED_FILE + suffix, { force: true })
  const started = performance.now()
  const db = openDatabase(SEED_FILE)
  const q = db.sqlite
  const now = Date.now()
  const orgId = `org_${ulidAt(now - 400 * DAY)}`
  q.run("INSERT INTO organisations (id, slug, name, plan, created_at) VALUES (?, 'bench', 'Bench', 'enterprise', ?)", [orgId, now - 400 * DAY])
  const tokenId = crypto.randomUUID()
  const token = `nlp_${tokenId.replaceAll('-', '')}${randomHex(4)}`
  q.run("INSERT INTO api_tokens (id, org_id, name, secret_hash, scopes, agent_type, created_at) VALUES (?, ?, 'bench', ?, '[\"execute\",\"read\"]', 'bench', ?)", [
    tokenId, orgId, sha256Hex(token), now,
  ])
  const session = `nls_${randomHex(32)}`
  q.run("INSERT INTO sessions (id, token_hash, user_id, org_id, expires_at, created_at) VALUES (?, ?, 'bench', ?, ?, ?)", [
    `ses_${ulidAt(now)}`, sha256Hex(session), orgId, now + 365 * DAY, now,
  ])
  const insert = q.prepare(
    `INSERT INTO executions (id, repo_id, org_id, branch, outcome, delta, coverage, baseline, warn_threshold, fail_threshold, strict_mode, "commit", agent_type, token_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0.5, 1.0, 0, NULL, ?, ?, ?)`,
  )
  const agents = ['claude_code', 'cursor', 'github_copilot', '']
  for (const repo of REPOS) {
    const repoId = (q.query("INSERT INTO repositories (org_id, name, execution_count, created_at) VALUES (?, ?, ?, ?) RETURNING id").get(orgId, repo.name, repo.rows, now - 400 * DAY) as { id: number }).id
    const span = 300 * DAY
    const batch = q.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const at = now - span + Math.floor((i / repo.rows) * span)
        const coverage = 60 + ((i * 7919) % 400) / 10
        const delta = (((i * 104729) % 300) - 150) / 100
        const outcome = delta > -0.5 ? 'pass' : delta > -1 ? 'warn' : 'fail'
        insert.run(`exe_${ulid(at).toLowerCase()}`, repoId, orgId, i % 5 === 0 ? 'dev' : 'main', outcome, delta, coverage, coverage - delta, agents[i % 4]!, tokenId, at)
      }
    })
    for (let from = 0; from < repo.rows; from += 50_000) batch(from, Math.min(repo.rows, from + 50_000))
  }
  await rebuildRollups(db)
  q.run('ANALYZE')
  q.exec('PRAGMA wal_checkpoint(TRUNCATE)')
  db.close()
  await Bun.write(credentials, JSON.stringify({ token, session }))
  console.error(`seeded ${SEED_FILE} in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return { file: SEED_FILE, token, session }
}

if (import.meta.main) console.log(await seed())
