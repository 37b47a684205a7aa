import { t } from 'elysia'
import { REPO_MAX_LENGTH } from '../repos/name'

export const PictureParams = t.Object({
  org: t.String({ maxLength: 64 }),
  repo: t.String({ maxLength: REPO_MAX_LENGTH, description: 'Repository name; a monorepo service as `services/go-svc` or `services%2Fgo-svc`' }),
})

export const Svg = t.String({ description: 'The picture (image/svg+xml)' })

export const NotModified = t.String({ description: 'Not modified (the ETag matched, or no run newer than If-Modified-Since is shown)' })

const commonQuery = {
  branch: t.Optional(t.String({ minLength: 1, maxLength: 255, error: 'branch must be a string of 1-255 characters' })),
  token: t.Optional(t.String({ maxLength: 200, description: 'A `badge` or `read` API token of the organisation, for a private repository (never an execute-only token: badge URLs are public)' })),
}

export const BadgeQuery = t.Object({
  ...commonQuery,
  label: t.Optional(t.String({ minLength: 1, maxLength: 40, error: 'label must be a string of 1-40 characters' })),
  style: t.Optional(t.Union([t.Literal('flat'), t.Literal('flat-square'), t.Literal('for-the-badge')], { error: 'style must be one of flat, flat-square, for-the-badge' })),
})

export const TrendQuery = t.Object({
  ...commonQuery,
  n: t.Optional(t.Integer({ minimum: 2, maximum: 200, default: 30, error: 'n must be an integer from 2 to 200' })),
  theme: t.Optional(t.Union([t.Literal('light'), t.Literal('dark')], { default: 'light', error: 'theme must be light or dark', description: 'Colours for a light or a dark page (GitHub renders READMEs in both)' })),
  scale: t.Optional(t.Union([t.Literal('auto'), t.Literal('full')], { default: 'auto', error: 'scale must be auto or full', description: "The y axis: the shown runs' own range (`auto`) or 0-100% (`full`)" })),
})
