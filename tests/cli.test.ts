import { describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Database } from 'bun:sqlite'
import { freshPostgres, onPostgres, urlFor } from './helpers/db'
import { freePort } from './helpers/process'

const root = join(import.meta.dir, '..')

function cli(databaseUrl: string, ...args: string[]) {
  const proc = Bun.spawnSync(['bun', 'src/cli/index.ts', ...args], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl } })
  return { code: proc.exitCode, stdout: proc.stdout.toString().trim(), stderr: proc.stderr.toString().trim() }
}

describe('bun run cli', () => {
  test('help lists every command', () => {
    const { code, stdout } = cli(':memory:', '--help')
    expect(code).toBe(0)
    for (const command of ['org create', 'session create', 'token create', 'migrate', 'purge']) expect(stdout).toContain(command)
  })

  test('org, session and token creation on a fresh database file; the token works', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nolapse-cli-'))
    const url = join(dir, 'cli.db')
    expect(cli(url, 'org', 'create', 'acme', '--plan', 'team').stdout).toMatch(/^organisation acme \(org_[0-9a-z]{26}\) on the team plan$/)
    const session = cli(url, 'session', 'create', '--org', 'acme', '--user', 'alice')
    expect(session.stdout).toMatch(/^nls_[0-9a-f]{64}$/)
    const token = cli(url, 'token', 'create', '--org', 'acme', '--name', 'ci', '--scopes', 'execute,read')
    expect(token.code).toBe(0)
    expect(token.stdout).toMatch(/^nlp_[0-9a-f]{40}$/)
    expect(token.stderr).toContain('[audit] token.create')
    // It names the database it wrote to, so a CLI run without the server's DATABASE_URL is seen at once.
    expect(token.stderr.split('\n')[0]).toBe(`nolapse-platform: database ${url}`)
    expect(token.stderr).not.toContain(token.stdout)
    const db = new Database(url)
    expect(db.query('SELECT plan FROM organisations').get()).toEqual({ plan: 'team' })
    expect(db.query('SELECT scopes FROM api_tokens').get()).toEqual({ scopes: '["execute","read"]' })
    db.close()
    expect(cli(url, 'purge').stdout).toStartWith('deleted 0 expired executions')
    expect(cli(url, 'migrate').stdout).toBe('migrations applied')
  })

  test('mistakes exit 1 with one line on stderr', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nolapse-cli-'))
    const url = join(dir, 'cli.db')
    for (const args of [['token', 'create', '--org', 'nope', '--name', 'x'], ['org', 'create', 'Bad Slug'], ['bogus'], ['org', 'create', 'a', '--plan', 'gold']]) {
      const res = cli(url, ...args)
      expect(res.code).toBe(1)
      // The database line (when it got that far), then one line naming the mistake.
      const lines = res.stderr.split('\n').filter((line) => line !== `nolapse-platform: database ${url}`)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toStartWith('nolapse-platform: ')
    }
    cli(url, 'org', 'create', 'free-org')
    cli(url, 'token', 'create', '--org', 'free-org', '--name', 'one')
    const capped = cli(url, 'token', 'create', '--org', 'free-org', '--name', 'two')
    expect(capped.code).toBe(1)
    expect(capped.stderr).toContain('token limit reached for your plan (1/1 tokens used)')
  })

  test.skipIf(!onPostgres)('on PostgreSQL it names the database it used with the password hidden', async () => {
    const url = new URL(urlFor(await freshPostgres()))
    url.password = 'hunter2-not-shown'
    const res = cli(url.toString(), 'org', 'create', 'acme')
    expect(res.code).toBe(0)
    const first = res.stderr.split('\n')[0]!
    expect(first).toStartWith(`nolapse-platform: database postgres://${url.username}`)
    expect(first).toContain(url.host + url.pathname)
    expect(res.stderr).not.toContain('hunter2')
  })

  test.skipIf(onPostgres)('backup makes a consistent copy while the server runs: restored, its token validates and its run is listed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nolapse-backup-'))
    const url = join(dir, 'live.db')
    cli(url, 'org', 'create', 'acme', '--plan', 'team')
    const token = cli(url, 'token', 'create', '--org', 'acme', '--name', 'ci').stdout
    const port = await freePort()
    const server = Bun.spawn(['bun', 'src/index.ts'], { cwd: root, env: { ...process.env, DATABASE_URL: url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'error' }, stdout: 'ignore', stderr: 'inherit' })
    const base = `http://127.0.0.1:${port}`
    try {
      for (let i = 0; i < 500 && !(await fetch(`${base}/health`).then((r) => r.ok, () => false)); i++) await Bun.sleep(10)
      const post = (coverage: number) =>
        fetch(`${base}/v1/executions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ repo: 'svc', branch: 'main', coverage }) }).then((r) => r.json())
      const run = await post(81.5)
      const copy = join(dir, 'copy.db')
      const backup = cli(url, 'backup', copy)
      expect([backup.code, backup.stdout]).toEqual([0, expect.stringMatching(new RegExp(`^backed up to ${copy} \\(\\d+ bytes\\)$`))])
      expect(backup.stderr).toBe(`nolapse-platform: database ${url}`)
      await post(90) // after the copy: not in it
      // The copy is a whole database on its own (no -wal beside it), readable by the server's own code.
      const restored = new Database(copy, { readonly: true })
      expect(restored.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
      expect(restored.query('SELECT id, coverage FROM executions').all()).toEqual([{ id: run.id, coverage: 81.5 }])
      restored.close()
      const second = cli(url, 'backup', copy)
      expect([second.code, second.stderr.split('\n').at(-1)]).toEqual([1, `nolapse-platform: backup <file>: ${copy} exists; name a new file`])
    } finally {
      server.kill()
      await server.exited
    }
    // Restored in place of the original, a server on it accepts the token and lists the run.
    const port2 = await freePort()
    const again = Bun.spawn(['bun', 'src/index.ts'], { cwd: root, env: { ...process.env, DATABASE_URL: join(dir, 'copy.db'), PORT: String(port2), HOST: '127.0.0.1', LOG_LEVEL: 'error' }, stdout: 'ignore', stderr: 'inherit' })
    try {
      const base2 = `http://127.0.0.1:${port2}`
      for (let i = 0; i < 500 && !(await fetch(`${base2}/health`).then((r) => r.ok, () => false)); i++) await Bun.sleep(10)
      const validate = await fetch(`${base2}/v1/auth/validate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
      expect((await validate.json()).valid).toBe(true)
      const list = await (await fetch(`${base2}/v1/executions?org=acme&repo=svc`, { headers: { authorization: `Bearer ${token}` } })).json()
      expect([list.total, list.executions.map((e: { coverage: number }) => e.coverage)]).toEqual([1, [81.5]])
    } finally {
      again.kill()
      await again.exited
    }
  }, 30_000)
})
