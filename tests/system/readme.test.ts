import { expect, test } from 'bun:test'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onPostgres } from '../helpers/db'
import { freePort, ROOT } from '../helpers/process'

/*
 * The README cannot drift: its walk-through is run as written, in bash (and zsh where installed), against
 * a server started as its quick start says (`bun start`), and every output the README shows (a `# …` line
 * right after a command, `…` standing for anything) must be what the command printed. The one liberty
 * taken: the server listens on a free port and a fresh database, so `localhost:8080` is that port and
 * DATABASE_URL names that file for the server and the CLI alike.
 */

function block(readme: string, heading: string): string {
  const at = readme.indexOf(`\n${heading}\n`)
  const start = readme.indexOf('```sh\n', at) + '```sh\n'.length
  return readme.slice(start, readme.indexOf('\n```', start))
}

/** Commands (continuation lines joined) with the outputs the README shows after each. */
function steps(script: string): { command: string; expected: string[] }[] {
  const out: { command: string; expected: string[] }[] = []
  let pending = ''
  for (const line of script.split('\n')) {
    if (pending) {
      pending += `\n${line}`
      if (!line.endsWith('\\')) out.push({ command: pending, expected: [] }), (pending = '')
      continue
    }
    if (line.startsWith('# ') && out.length > 0 && /^# [{["a-z]/.test(line) && !/^# \d+\./.test(line)) {
      out[out.length - 1]!.expected.push(line.slice(2))
      continue
    }
    if (line.trim() === '' || line.startsWith('#')) continue
    if (line.endsWith('\\')) pending = line
    else out.push({ command: line, expected: [] })
  }
  return out
}

const pattern = (shown: string) => new RegExp(`^${shown.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)

for (const shell of ['bash', 'zsh']) {
  test.skipIf(onPostgres || Bun.which(shell) === null)(`README: the quick start's server and the walk-through, as written, in ${shell}`, async () => {
    const readme = await Bun.file(join(ROOT, 'README.md')).text()
    const quick = block(readme, '## Quick start')
    const serve = quick.split('\n')[0]!.split('#')[0]!.trim()
    expect(serve).toBe('bun install && bun start')
    const port = await freePort()
    const database = join(mkdtempSync(join(tmpdir(), 'nolapse-readme-')), 'readme.db')
    const env = { ...process.env, PORT: String(port), DATABASE_URL: database, LOG_LEVEL: 'error' }
    const server = Bun.spawn([shell, '-c', serve], { cwd: ROOT, env, stdout: 'ignore', stderr: 'pipe' })
    try {
      for (let i = 0; i < 1000 && !(await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)); i++) await Bun.sleep(20)
      const walk = steps(block(readme, '## A walk-through with curl').replaceAll('localhost:8080', `localhost:${port}`))
      expect(walk.length).toBeGreaterThan(10)
      // One script (variables carry over), each command's output between markers.
      const script = walk.map((step, i) => `echo '<<<${i}'\n${step.command}\necho\necho '>>>${i}'`).join('\n')
      const run = Bun.spawnSync([shell, '-c', script], { cwd: ROOT, env, stderr: 'pipe' })
      const stdout = run.stdout.toString()
      const failures: string[] = []
      walk.forEach((step, i) => {
        const output = stdout.slice(stdout.indexOf(`<<<${i}\n`) + `<<<${i}\n`.length, stdout.indexOf(`>>>${i}\n`)).trim()
        const lines = output.split('\n')
        for (const shown of step.expected) if (!lines.some((line) => pattern(shown).test(line))) failures.push(`${step.command}\n  README shows: ${shown}\n  printed: ${output.slice(0, 300)}`)
        if (/^\{"error"/.test(output)) failures.push(`${step.command}\n  answered an error: ${output}`)
      })
      expect(failures).toEqual([])
      // Every command ran (a failing curl or CLI would have stopped nothing, so count the markers).
      expect(stdout.split('\n').filter((line) => line.startsWith('>>>')).length).toBe(walk.length)
    } finally {
      server.kill()
      await server.exited
    }
  }, 60_000)
}

test.skipIf(onPostgres)('every relative link and picture in the README and docs/ resolves inside the repository', async () => {
  const { existsSync, readdirSync } = await import('node:fs')
  const { dirname, resolve } = await import('node:path')
  const files = ['README.md', 'SECURITY.md', 'BENCHMARKS.md', 'CHANGELOG.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  const broken: string[] = []
  for (const file of files) {
    const text = await Bun.file(join(ROOT, file)).text()
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:|#)/.test(target!)) continue
      const path = resolve(dirname(join(ROOT, file)), target!.split('#')[0]!)
      if (!path.startsWith(ROOT + '/') || !existsSync(path)) broken.push(`${file}: ${target}`)
    }
  }
  expect(broken).toEqual([])
})
