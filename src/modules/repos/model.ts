import { t } from 'elysia'
import { NullableTimestamp } from '../../http/schemas'
import { REPO_MAX_LENGTH } from './name'
import { BadgeSettingsPatch, BadgeSettingsView } from './badge-settings'

export const RepoView = t.Object({
  name: t.String(),
  default_branch: t.String(),
  private: t.Boolean(),
  executions: t.Integer(),
  latest_coverage: t.Union([t.Number(), t.Null()]),
  last_execution_at: NullableTimestamp,
  badge: BadgeSettingsView,
}, { description: 'A repository' })

export const PatchRepoBody = t.Object({
  default_branch: t.Optional(t.String({ minLength: 1, maxLength: 255, error: 'default_branch must be a string of 1-255 characters' })),
  private: t.Optional(t.Boolean({ error: 'private must be true or false' })),
  badge: t.Optional(BadgeSettingsPatch),
}, { examples: [{ default_branch: 'main', private: true }, { badge: { green: 85, yellow: 70, precision: 1, colour_by: 'outcome' } }] })

export const RepoListQuery = t.Object({
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 50, error: 'limit must be an integer from 1 to 100' })),
  cursor: t.Optional(t.String({ maxLength: 2048 })),
})

export const RepoPage = t.Object({ repos: t.Array(RepoView), total: t.Integer(), limit: t.Integer(), next_cursor: t.Union([t.String(), t.Null()]) }, { description: "The organisation's repositories, by name" })

export const RepoParams = t.Object({ repo: t.String({ minLength: 1, maxLength: REPO_MAX_LENGTH, description: 'Repository name; a monorepo service as `services/go-svc` or `services%2Fgo-svc`' }) })
