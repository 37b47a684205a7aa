import { t } from 'elysia'
import { NullableTimestamp, Timestamp } from '../../http/schemas'

export const Scope = t.Union([t.Literal('execute'), t.Literal('read'), t.Literal('badge')], {
  error: 'scopes must be a list of execute, read, badge',
  description: '`execute`: submit and read runs; `read`: read runs, repos and private badges; `badge`: only the badge and trend of private repositories (for `?token=` in a README)',
})
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
  scopes: t.Optional(t.Array(Scope, { minItems: 1, maxItems: 3, error: 'scopes must be a non-empty list of execute, read, badge' })),
  agent_type: t.Optional(AgentType),
}, { examples: [{ name: 'github-actions', scopes: ['execute'], agent_type: '' }] })

export const CreatedToken = t.Object({
  id: t.String({ format: 'uuid' }),
  secret: t.String({ description: '`nlp_` + 40 lower-case hex, all random (160 bits). Shown once; only its SHA-256 is stored, and the token is looked up by that hash (its `id` is not part of the secret)', examples: ['nlp_3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f901'] }),
  name: t.String(),
  scopes: t.Array(t.String()),
  agent_type: t.String(),
}, { description: 'The new token with its secret' })

export const RotatedToken = t.Object({ id: t.String({ format: 'uuid' }), secret: t.String() }, { description: 'The replacement token' })

export const TokenParams = t.Object({ id: t.String({ maxLength: 64, error: 'id must be a token id' }) })
