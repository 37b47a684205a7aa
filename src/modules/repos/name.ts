import { t } from 'elysia'
import { badRequest, notFound } from '../../http/errors'

/*
 * Repository names (API.md §4): GitHub's repository-name alphabet, plus up to four more `/`-separated
 * parts for monorepo services (`services/go-svc`), no `.` or `..` part, case-sensitive. Names that only
 * look alike — a trailing space, a zero-width space, NFC against NFD, a NUL byte, Cyrillic letters — are
 * not two repositories but refused.
 *
 * Rows stored before this policy keep their names: they stay listed and readable (GET /v1/repos, the
 * list, badges), but a run under a name outside the policy is refused, so such a repository takes no
 * new runs. No migration rewrites them (a rename would break every badge URL that names them).
 */
export const REPO_PATTERN = '^(?!\\.\\.?(?:/|$))(?!.*/\\.\\.?(?:/|$))[A-Za-z0-9._-]{1,100}(?:/[A-Za-z0-9._-]{1,100}){0,4}$'
export const REPO_MAX_LENGTH = 5 * 100 + 4
export const REPO_RULE = 'repo must be 1-5 "/"-separated parts of A-Z, a-z, 0-9, ".", "_", "-" (1-100 characters each, none "." or "..")'

/** A repository name that must meet the policy (runs, stream tickets). */
export const RepoName = t.String({ pattern: REPO_PATTERN, error: REPO_RULE, examples: ['api-service', 'services/go-svc'] })

/**
 * A repository name that is looked up, not created: only bounded in length, so rows stored before the
 * policy stay reachable.
 */
export const RepoLookup = (error = `repo must be a string of 1-${REPO_MAX_LENGTH} characters`) =>
  t.String({ minLength: 1, maxLength: REPO_MAX_LENGTH, error, examples: ['api-service', 'services/go-svc'] })

/**
 * The repository named by a path. Routes are registered twice: `…/:repo` (one segment, `%2F` allowed —
 * the router decodes it) and `…/*` (the unencoded `services/go-svc` form, which the router hands over
 * still percent-encoded).
 */
export function repoFromPath(params: { repo?: string; '*'?: string }): string {
  if (params.repo !== undefined) return params.repo
  const raw = params['*'] ?? ''
  let name: string
  try {
    name = decodeURIComponent(raw)
  } catch {
    throw badRequest('invalid params: repo is not valid percent-encoding')
  }
  if (name === '') throw notFound()
  if (name.length > REPO_MAX_LENGTH) throw badRequest(`invalid params: repo must be a string of 1-${REPO_MAX_LENGTH} characters`)
  return name
}
