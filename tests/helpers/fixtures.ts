import type { Plan } from '../../src/db/schema'
import { SERVICE_TOKEN, type TestApp } from './app'

/** Signs in as `user` of the organisation `slug` (created on the free plan when new), optionally on another plan. */
export async function signIn(t: TestApp, slug = 'acme', options: { plan?: Plan; user?: string } = {}) {
  const res = await t.request('POST', '/v1/sessions/create', { token: SERVICE_TOKEN, body: { user_id: options.user ?? 'user-1', org_slug: slug } })
  if (res.status !== 201) throw new Error(`sign-in failed: ${res.status} ${res.text}`)
  if (options.plan) await setPlan(t, res.json.org_id, options.plan)
  return { session: res.json.token as string, orgId: res.json.org_id as string, sessionId: res.json.id as string, slug }
}

/** Moves an organisation to another plan, as a billing webhook would. */
export async function setPlan(t: TestApp, orgId: string, plan: Plan) {
  await t.db.run('UPDATE organisations SET plan = ? WHERE id = ?', [plan, orgId])
  t.app.orgChanged(orgId)
}

export async function createToken(t: TestApp, session: string, body: Record<string, unknown> = {}) {
  const res = await t.request('POST', '/v1/tokens', { token: session, body: { name: 'ci', ...body } })
  if (res.status !== 201) throw new Error(`token create failed: ${res.status} ${res.text}`)
  return res.json as { id: string; secret: string; name: string; scopes: string[]; agent_type: string }
}

/** An organisation on `plan` with a session and one API token of the given scopes. */
export async function orgWithToken(t: TestApp, slug = 'acme', options: { plan?: Plan; scopes?: string[]; agent_type?: string } = {}) {
  const who = await signIn(t, slug, { plan: options.plan ?? 'team' })
  const token = await createToken(t, who.session, { scopes: options.scopes ?? ['execute'], agent_type: options.agent_type ?? '' })
  return { ...who, token: token.secret, tokenId: token.id }
}

export function submit(t: TestApp, token: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return t.request('POST', '/v1/executions', { token, body: { repo: 'api-service', branch: 'main', coverage: 80, baseline: 80, ...body }, headers })
}

/** Whether every repository's counter equals its real number of runs. */
export async function counterMatches(t: TestApp): Promise<boolean> {
  const rows = await t.db.all<{ counter: number; real: number }>(
    'SELECT r.execution_count AS counter, (SELECT count(*) FROM executions e WHERE e.repo_id = r.id) AS real FROM repositories r',
  )
  return rows.every((row) => row.counter === row.real)
}

/** The value of one gauge or counter (without labels) in the server's /metrics answer, as an operator reads it. */
export async function metric(t: TestApp, name: string): Promise<number> {
  const res = await t.request('GET', '/metrics')
  const line = res.text.split('\n').find((l) => l.startsWith(`${name} `))
  if (!line) throw new Error(`no metric ${name} (status ${res.status})`)
  return Number(line.slice(name.length + 1))
}

/** Counts the statements the app sends from now on (every Db entry point), but the shared rate limits' batches (PostgreSQL). */
export function countStatements(t: TestApp) {
  const counter = { n: 0 }
  const db = t.db as unknown as Record<string, (...args: unknown[]) => unknown>
  for (const name of ['get', 'all', 'run', 'read', 'tx']) {
    const original = db[name]!.bind(db)
    db[name] = (...args: unknown[]) => {
      if (!String(args[0]).startsWith('INSERT INTO rate_limits')) counter.n++
      return original(...args)
    }
  }
  return counter
}
