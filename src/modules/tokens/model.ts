import { t } from 'elysia'
import { NullableTimestamp, Timestamp } from '../../http/schemas'

export const Scope = t.Union([t.Literal('execute'), t.Literal('read')], { error: 'scopes must be a list of execute, read' })
export const AgentType = t.String({ pattern: '^[a-z0-9_]{0,32}$', error: 'agent_type must match ^[a-z0-9_]{0,32}$', examples: ['claude_code'] })

export const TokenView = t.Object({
  id: t.String({ format: 'uuid' }),
  name: t.String(),
  status: t.Union([t.Literal('active'), t.Literal('rotating'), t.Literal('revoked')]),
  scopes: t.Array(t.String()),
  agent_type: t.String(),
  created_at: Timestamp,
  last_used_at: NullableTimestamp,
}, { description: 'A token (never its secret)' })

export const CreateTokenBody = t.Object({
  name: t.String({ minLength: 1, maxLength: 64, error: 'name must be a string of 1-64 characters' }),
  scopes: t.Optional(t.Array(Scope, { minItems: 1, maxItems: 2, error: 'scopes must be a non-empty list of execute, read' })),
  agent_type: t.Optional(AgentType),
})

export const CreatedToken = t.Object({
  id: t.String({ format: 'uuid' }),
  secret: t.String({ description: 'Shown once; only its hash is stored' }),
  name: t.String(),
  scopes: t.Array(t.String()),
  agent_type: t.String(),
}, { description: 'The new token with its secret' })

export const RotatedToken = t.Object({ id: t.String({ format: 'uuid' }), secret: t.String() }, { description: 'The replacement token' })

export const TokenParams = t.Object({ id: t.String({ maxLength: 64, error: 'id must be a token id' }) })
