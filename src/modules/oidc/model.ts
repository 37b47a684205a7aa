import { t } from 'elysia'
import { Timestamp } from '../../http/schemas'
import { RepoName } from '../repos/name'

const Digits = (name: string) => t.String({ pattern: '^[0-9]{1,20}$', error: `${name} must be GitHub's numeric id, as a string of digits` })

export const CreateBindingBody = t.Object(
  {
    provider: t.Literal('github', { error: 'provider must be github' }),
    repository: t.String({ pattern: '^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$', error: 'repository must be owner/name as on GitHub' }),
    repo: RepoName,
    workflow: t.Optional(t.String({ pattern: '^[A-Za-z0-9._-]{1,100}\\.ya?ml$', error: 'workflow must be a workflow file name such as ci.yml' })),
    environment: t.Optional(t.String({ minLength: 1, maxLength: 255, error: 'environment must be a string of 1-255 characters' })),
    repository_id: t.Optional(Digits('repository_id')),
    repository_owner_id: t.Optional(Digits('repository_owner_id')),
  },
  { examples: [{ provider: 'github', repository: 'acme/api-service', repo: 'api-service', workflow: 'ci.yml' }] },
)

export const BindingView = t.Object(
  {
    id: t.String({ examples: ['oib_01hwk3r9btz0y5qp7njf2xcm8d'] }),
    provider: t.Literal('github'),
    repository: t.String(),
    repo: t.String(),
    workflow: t.Union([t.String(), t.Null()]),
    environment: t.Union([t.String(), t.Null()]),
    repository_id: t.Union([t.String(), t.Null()], { description: "GitHub's immutable repository id: from the body, or the first verified token" }),
    repository_owner_id: t.Union([t.String(), t.Null()]),
    created_at: Timestamp,
  },
  { description: 'A GitHub repository allowed to record runs of one of your repositories without a stored token' },
)

export const BindingParams = t.Object({ id: t.String({ maxLength: 40 }) })
