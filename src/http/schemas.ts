import { t, type TSchema } from 'elysia'

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request',
  401: 'Missing or invalid credential',
  402: 'Plan limit reached or plan feature needed',
  403: 'Credential lacks the scope, plan or organisation',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Body over 1 MiB',
  415: 'Body is not application/json',
  429: 'Rate limit exceeded',
  500: 'Internal error',
}

/** `{"error": "…"}` under each of the given statuses, for a route's `response` map. */
export function errors<const S extends number>(...statuses: S[]): Record<S, TSchema> {
  const out = {} as Record<S, TSchema>
  for (const status of statuses)
    out[status] = t.Object({ error: t.String() }, { description: DESCRIPTIONS[status] ?? 'Error' })
  return out
}

export const Timestamp = t.String({ format: 'date-time', examples: ['2026-03-18T09:00:00Z'] })
export const NullableTimestamp = t.Union([Timestamp, t.Null()])
