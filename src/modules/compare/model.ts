import { t } from 'elysia'
import { ExecutionItem, OutcomeSchema } from '../executions/model'
import { RepoLookup } from '../repos/name'

const Ref = (side: string) =>
  t.Optional(
    t.String({
      minLength: 1,
      maxLength: 255,
      error: `${side} must be a branch name or a commit SHA of 1-255 characters`,
      description: `A commit SHA (7-64 hex characters with a run of that commit) or else a branch name: its newest run is the ${side}`,
    }),
  )

export const CompareQuery = t.Object({
  org: t.Optional(t.String({ maxLength: 64 })),
  repo: t.Optional(RepoLookup()),
  base: Ref('base'),
  head: Ref('head'),
})

const ComparedRun = t.Composite([ExecutionItem, t.Object({ ref: t.String(), ref_kind: t.Union([t.Literal('commit'), t.Literal('branch')]) })])

export const Comparison = t.Object(
  {
    base: ComparedRun,
    head: ComparedRun,
    coverage_delta: t.Number({ description: "head coverage - base coverage, two decimals" }),
    outcome: OutcomeSchema,
    stale_base: t.Boolean({ description: "True when the base's run is older than the head's run: the base has not been measured since" }),
  },
  {
    examples: [
      {
        base: { id: 'exe_01hwk3r9btz0y5qp7njf2xcm8d', repo: 'api-service', branch: 'main', outcome: 'pass', delta: '+0.20', created_at: '2026-03-18T09:00:00Z', coverage: 82.3, baseline: 82.1, commit: '0123456789abcdef0123456789abcdef01234567', ref: 'main', ref_kind: 'branch' },
        head: { id: 'exe_01hwk4a2c0x8m1t3v5b7n9q2we', repo: 'api-service', branch: 'feat/auth', outcome: 'pass', delta: '-0.40', created_at: '2026-03-18T10:00:00Z', coverage: 81.9, baseline: 82.3, commit: '89abcdef0123456789abcdef0123456789abcdef', ref: 'feat/auth', ref_kind: 'branch' },
        coverage_delta: -0.4,
        outcome: 'pass',
        stale_base: true,
      },
    ],
  },
)
