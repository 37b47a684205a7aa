import { describe, expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Database } from 'bun:sqlite'
import { freshPostgres, onPostgres, urlFor } from './helpers/db'

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
})
