import { t } from 'elysia'
import { Timestamp } from '../../http/schemas'
import { SLUG_PATTERN } from '../orgs/service'

export const CreateSessionBody = t.Object({
  user_id: t.String({ minLength: 1, maxLength: 128, error: 'user_id must be a string of 1-128 characters' }),
  org_slug: t.String({ pattern: SLUG_PATTERN, error: `org_slug must match ${SLUG_PATTERN}` }),
  org_name: t.Optional(t.String({ minLength: 1, maxLength: 128, error: 'org_name must be a string of 1-128 characters' })),
}, { examples: [{ user_id: 'user-42', org_slug: 'acme', org_name: 'Acme Inc.' }] })

export const CreatedSession = t.Object(
  { id: t.String(), token: t.String(), user_id: t.String(), org_id: t.String(), org_slug: t.String(), expires_at: Timestamp },
  { description: 'The session; its token is shown once' },
)

export const SessionParams = t.Object({ id: t.String({ maxLength: 128 }) })
