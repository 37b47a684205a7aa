import { Elysia, t } from 'elysia'

export function healthModule() {
  return new Elysia({ name: 'health' }).get('/health', () => ({ status: 'ok' as const }), {
    response: { 200: t.Object({ status: t.Literal('ok') }, { description: 'The server is up' }) },
    detail: { tags: ['Health'], summary: 'Liveness check' },
  })
}
