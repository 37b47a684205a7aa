import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DATA_DIR, type Seed } from './seed'

/** Writes a wrk Lua script into the bench data folder and returns its path. */
export function wrkScript(name: string, lines: string[]): string {
  const file = join(DATA_DIR, `${name}.lua`)
  writeFileSync(file, lines.join('\n'))
  return file
}

/** The hot routes the multi-instance benches load: validate, a cached list page, and ingest into one repository. */
export function hotRoutes(seed: Pick<Seed, 'token'>, tag: string) {
  return [
    { name: 'validate', path: '/v1/auth/validate', script: wrkScript(`${tag}-validate`, ['wrk.method = "POST"', 'wrk.headers["content-type"] = "application/json"', `wrk.body = '{"token":"${seed.token}"}'`]) },
    { name: 'list', path: '/v1/executions?org=bench&repo=r1k&limit=10', script: wrkScript(`${tag}-list`, [`wrk.headers["authorization"] = "Bearer ${seed.token}"`]) },
    {
      name: 'ingest',
      path: '/v1/executions',
      script: wrkScript(`${tag}-ingest`, ['wrk.method = "POST"', 'wrk.headers["content-type"] = "application/json"', `wrk.headers["authorization"] = "Bearer ${seed.token}"`, `wrk.body = '{"repo":"ingest","branch":"main","coverage":81.2}'`]),
    },
  ]
}
