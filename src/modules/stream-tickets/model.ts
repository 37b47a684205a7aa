import { t } from 'elysia'
import { Timestamp } from '../../http/schemas'
import { RepoLookup } from '../repos/name'

export const StreamTicketBody = t.Object(
  {
    org: t.String({ minLength: 1, maxLength: 64, error: 'org must be an organisation slug', examples: ['acme'] }),
    repo: RepoLookup(),
  },
  { examples: [{ org: 'acme', repo: 'api-service' }] },
)

export const StreamTicket = t.Object(
  {
    ticket: t.String({ pattern: '^nlt_[0-9a-f]{64}$', description: 'Read-only; never logged' }),
    expires_at: Timestamp,
  },
  { description: 'The ticket' },
)
