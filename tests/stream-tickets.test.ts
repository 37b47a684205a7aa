import { describe, expect, test } from 'bun:test'
import { makeTestApp, type TestApp } from './helpers/app'
import { createToken, orgWithToken, signIn, submit } from './helpers/fixtures'

/** Opens the stream with a ticket in the query and no Authorization, as EventSource does. */
async function follow(t: TestApp, ticket: string, repo = 'api-service', org = 'acme') {
  const res = await t.app.handle(new Request(`http://localhost/v1/executions/stream?org=${org}&repo=${repo}&ticket=${ticket}`))
  const reader = res.status === 200 ? res.body!.getReader() : null
  let text = ''
  return {
    res,
    async read(until: string) {
      while (!text.includes(until)) {
        const chunk = await reader!.read()
        if (chunk.done) return { text, ended: true }
        text += new TextDecoder().decode(chunk.value)
      }
      return { text, ended: false }
    },
    close: () => reader?.cancel(),
  }
}

const ticketFor = (t: TestApp, token: string, body: Record<string, unknown> = { org: 'acme', repo: 'api-service' }) =>
  t.request('POST', '/v1/stream-tickets', { token, body })

describe('POST /v1/stream-tickets', () => {
  test('a session, a read token or an execute token gets a read-only ticket bound to one repository for 5 minutes', async () => {
    const t = makeTestApp()
    const { session, token } = await orgWithToken(t)
    const reader = await createToken(t, session, { scopes: ['read'] })
    for (const credential of [session, token, reader.secret]) {
      const res = await ticketFor(t, credential)
      expect(res.status).toBe(201)
      expect(Object.keys(res.json).sort()).toEqual(['expires_at', 'ticket'])
      expect(res.json.ticket).toMatch(/^nlt_[0-9a-f]{64}$/)
      expect(res.json.expires_at).toBe('2026-03-18T09:05:00Z')
    }
    const stored = (await t.db.all<any>('SELECT ticket_hash FROM stream_tickets')) as { ticket_hash: string }[]
    expect(stored).toHaveLength(3)
    for (const row of stored) expect(row.ticket_hash).toMatch(/^[0-9a-f]{64}$/)
  })

  test('badge-only tokens, other organisations and bad bodies are refused', async () => {
    const t = makeTestApp()
    const { session } = await orgWithToken(t)
    const badge = await createToken(t, session, { scopes: ['badge'] })
    expect((await ticketFor(t, badge.secret)).status).toBe(403)
    expect((await ticketFor(t, session, { org: 'other', repo: 'api-service' })).json).toEqual({ error: 'forbidden' })
    expect((await ticketFor(t, session, { org: 'acme' })).status).toBe(400)
    expect((await t.request('POST', '/v1/stream-tickets', { body: { org: 'acme', repo: 'api-service' } })).status).toBe(401)
  })
})

describe('GET /v1/executions/stream?ticket=', () => {
  test('a ticket opens the stream without Authorization and receives runs recorded by others', async () => {
    const t = makeTestApp()
    const { session, token } = await orgWithToken(t)
    const { ticket } = (await ticketFor(t, session)).json
    const stream = await follow(t, ticket)
    expect(stream.res.status).toBe(200)
    await stream.read(': connected')
    const run = await submit(t, token, { coverage: 88.8 })
    expect((await stream.read('88.8')).text).toContain(`id: ${run.json.id}`)
    await stream.close()
    // The ticket never reaches a log line.
    expect(t.logger.lines.join('\n')).not.toContain(ticket)
  })

  test("an expired ticket, another repository's ticket, or a made-up one is 401", async () => {
    const t = makeTestApp({ STREAM_TICKET_TTL_SECONDS: '60' })
    const { session } = await orgWithToken(t)
    const { ticket } = (await ticketFor(t, session)).json
    const other = await follow(t, ticket, 'another-repo')
    expect([other.res.status, await other.res.json()]).toEqual([401, { error: 'invalid token' }])
    const invented = await follow(t, `nlt_${'0'.repeat(64)}`)
    expect(invented.res.status).toBe(401)
    t.clock.advance(60_000)
    const expired = await follow(t, ticket)
    expect([expired.res.status, await expired.res.json()]).toEqual([401, { error: 'invalid token' }])
    const reasons = (await t.db.all<{ metadata: string }>("SELECT metadata FROM audit_events WHERE action = 'auth.denied' ORDER BY id")).map((row) => ({ r: JSON.parse(row.metadata).reason }))
    expect(reasons).toEqual([{ r: 'ticket_for_another_repository' }, { r: 'invalid_ticket' }, { r: 'invalid_ticket' }])
  })

  test('a ticket ends with its parent: revoking the token ends the open stream and refuses the ticket', async () => {
    const t = makeTestApp()
    const { session } = await orgWithToken(t)
    const reader = await createToken(t, session, { scopes: ['read'] })
    const { ticket } = (await ticketFor(t, reader.secret)).json
    const stream = await follow(t, ticket)
    await stream.read(': connected')
    await t.request('DELETE', `/v1/tokens/${reader.id}`, { token: session })
    expect((await stream.read('never')).ended).toBe(true)
    expect((await follow(t, ticket)).res.status).toBe(401)
  })

  test("a logout ends the session's tickets; tickets count toward their parent's stream cap", async () => {
    const t = makeTestApp({ STREAMS_PER_CREDENTIAL_FREE: '1' })
    const { session, sessionId } = await signIn(t)
    const { ticket } = (await ticketFor(t, session)).json
    const first = await follow(t, ticket)
    expect(first.res.status).toBe(200)
    const second = await follow(t, ticket)
    expect([second.res.status, await second.res.json()]).toEqual([429, { error: 'too many open event streams for this credential (1/1)' }])
    await t.request('DELETE', `/v1/sessions/${sessionId}`)
    expect((await first.read('never')).ended).toBe(true)
    expect((await follow(t, ticket)).res.status).toBe(401)
  })

  test("a ticket minted by a token in its rotation grace spends the successor's allowance, not a fresh one", async () => {
    const t = makeTestApp()
    const { session, token, tokenId } = await orgWithToken(t, 'acme', { plan: 'free' })
    const rotated = await t.request('POST', `/v1/tokens/${tokenId}/rotate`, { token: session })
    expect(rotated.status).toBe(200)
    const { ticket } = (await ticketFor(t, token)).json
    // The successor spends the rest of the shared allowance (60 a minute on the free plan; the ticket took one).
    let spent = 0
    while ((await t.request('GET', '/v1/executions?org=acme&repo=api-service', { token: rotated.json.secret })).status === 200) spent++
    expect(spent).toBe(59)
    const stream = await follow(t, ticket)
    expect([stream.res.status, await stream.res.json()]).toEqual([429, { error: 'rate limit exceeded' }])
  })
})
