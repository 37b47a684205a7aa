import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { onPostgres } from '../helpers/db'

/*
 * docker-compose.yml: two server replicas on one PostgreSQL with a volume and health checks. Validated by
 * `docker-compose config` (or `docker compose config`) where one is installed (.ci/run installs Debian's
 * docker-compose), and read structurally always.
 */
const FILE = join(import.meta.dir, '..', '..', 'docker-compose.yml')

test.skipIf(onPostgres)('docker-compose.yml: two replicas on PostgreSQL with a volume and health checks', async () => {
  const compose = Bun.YAML.parse(await Bun.file(FILE).text()) as any
  const servers = Object.entries(compose.services).filter(([name]) => name.startsWith('server-'))
  expect(servers).toHaveLength(2)
  for (const [, service] of servers as [string, any][]) {
    expect(service.environment.DATABASE_URL).toStartWith('postgres://nolapse:${POSTGRES_PASSWORD')
    expect(service.depends_on.postgres.condition).toBe('service_healthy')
    expect(service.healthcheck.test.join(' ')).toContain('/health')
  }
  expect(compose.services.postgres.volumes).toEqual(['nolapse-pg:/var/lib/postgresql/data'])
  expect(compose.services.postgres.healthcheck.test.join(' ')).toContain('pg_isready')
  expect(Object.keys(compose.volumes)).toEqual(['nolapse-pg'])
  // Redis is opt-in (`--profile redis` with REDIS_URL): without it the servers share limits through PostgreSQL.
  expect(compose.services.redis.profiles).toEqual(['redis'])
  expect(compose.services.redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping'])
  for (const [, service] of servers as [string, any][]) expect(service.environment.REDIS_URL).toBe('${REDIS_URL:-}')

  const tool = ['docker-compose', 'docker'].find((cmd) => Bun.which(cmd) !== null && (cmd === 'docker-compose' || Bun.spawnSync(['docker', 'compose', 'version']).exitCode === 0))
  if (!tool) return
  const args = tool === 'docker' ? ['docker', 'compose'] : ['docker-compose']
  const env = { ...process.env, POSTGRES_PASSWORD: 'p', SERVICE_TOKEN: 's' }
  const valid = Bun.spawnSync([...args, '-f', FILE, 'config', '-q'], { env })
  expect(valid.stderr.toString()).toBe('')
  expect(valid.exitCode).toBe(0)
  const withRedis = Bun.spawnSync([...args, '-f', FILE, '--profile', 'redis', 'config', '-q'], { env: { ...env, REDIS_URL: 'redis://redis:6379' } })
  expect(withRedis.stderr.toString()).toBe('')
  expect(withRedis.exitCode).toBe(0)
  // Without the secrets it refuses to start, naming what is missing.
  const { POSTGRES_PASSWORD: _p, SERVICE_TOKEN: _s, ...bare } = env
  const refused = Bun.spawnSync([...args, '-f', FILE, 'config', '-q'], { env: bare })
  expect(refused.exitCode).not.toBe(0)
  expect(refused.stderr.toString()).toContain('set POSTGRES_PASSWORD')
}, 30_000)

test.skipIf(onPostgres)('every variable the server reads is in .env.example and passed on by docker-compose.yml', async () => {
  const ROOT = join(import.meta.dir, '..', '..')
  const read = [...new Set((await Bun.file(join(ROOT, 'src', 'config.ts')).text()).match(/'[A-Z][A-Z0-9_]{2,}'/g)!.map((name) => name.slice(1, -1)))]
  const example = (await Bun.file(join(ROOT, '.env.example')).text()).split('\n').filter((line) => /^[A-Z]/.test(line)).map((line) => line.split('=', 1)[0])
  expect(read.filter((name) => !example.includes(name))).toEqual([])
  const compose = Bun.YAML.parse(await Bun.file(FILE).text()) as any
  // Where it listens is the image's own (PORT 8080 on all addresses); everything else is passed on.
  const passed = Object.keys(compose.services['server-1'].environment)
  expect(read.filter((name) => !passed.includes(name) && name !== 'PORT' && name !== 'HOST')).toEqual([])
})
