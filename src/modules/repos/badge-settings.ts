import { t } from 'elysia'
import type { Outcome } from '../../db/schema'

/**
 * A repository's badge settings (`PATCH /v1/repos/{repo}` `{"badge": …}`), stored as JSON in
 * `repositories.badge`; null there means the defaults, which are the contract's rule.
 */
export interface BadgeSettings {
  /** The shown value at or above this is green. */
  green: number
  /** At or above this (and below green) yellow; below it red. */
  yellow: number
  /** Decimals shown: 84%, 84.2%, 84.24%. */
  precision: number
  /** Colour by the shown number, or by the shown run's outcome (a `fail` is red even at 79 %). */
  colour_by: 'coverage' | 'outcome'
}

export const DEFAULT_BADGE: BadgeSettings = { green: 80, yellow: 60, precision: 0, colour_by: 'coverage' }

export const BadgeSettingsView = t.Object(
  {
    green: t.Number(),
    yellow: t.Number(),
    precision: t.Integer(),
    colour_by: t.Union([t.Literal('coverage'), t.Literal('outcome')]),
  },
  { description: 'How this repository\'s badge and trend graph show coverage (defaults: 80, 60, 0, coverage)' },
)

export const BADGE_RULE = 'badge must be an object of green and yellow (numbers from 0 to 100), precision (0, 1 or 2) and colour_by (coverage or outcome)'

/**
 * A change of the settings: the fields given replace the current ones (send the defaults to go back to
 * them). A union of one: Elysia mirrors a body onto its object schemas before checking it, which would turn
 * `"badge": "green"` or `null` into `{}` and accept it; a union is checked as sent, and refused whole.
 */
export const BadgeSettingsPatch = t.Union(
  [
    t.Object(
      {
        green: t.Optional(t.Number({ minimum: 0, maximum: 100 })),
        yellow: t.Optional(t.Number({ minimum: 0, maximum: 100 })),
        precision: t.Optional(t.Integer({ minimum: 0, maximum: 2 })),
        colour_by: t.Optional(t.Union([t.Literal('coverage'), t.Literal('outcome')])),
      },
      { additionalProperties: false },
    ),
  ],
  { error: BADGE_RULE },
)

/** The settings a stored value names (the defaults for null or anything unreadable). */
export function badgeSettings(stored: string | null | undefined): BadgeSettings {
  if (!stored) return DEFAULT_BADGE
  try {
    return { ...DEFAULT_BADGE, ...(JSON.parse(stored) as Partial<BadgeSettings>) }
  } catch {
    return DEFAULT_BADGE
  }
}

/** The value as the badge shows it, at the settings' precision. */
export function shownValue(coverage: number | null, precision: number): number | null {
  if (coverage === null) return null
  const scale = 10 ** precision
  return Math.round(coverage * scale) / scale
}

export type Tone = 'high' | 'middle' | 'low' | 'none'

/** Which of the three colours (or grey) a shown run takes under the settings. */
export function toneOf(shown: { coverage: number; outcome: Outcome } | null, settings: BadgeSettings): Tone {
  if (shown === null) return 'none'
  if (settings.colour_by === 'outcome') return shown.outcome === 'pass' ? 'high' : shown.outcome === 'warn' ? 'middle' : 'low'
  return toneOfValue(shownValue(shown.coverage, settings.precision), settings)
}

/** The tone of a shown number by the thresholds (the contract's rule with the defaults); null is grey. */
export function toneOfValue(value: number | null, settings: Pick<BadgeSettings, 'green' | 'yellow'> = DEFAULT_BADGE): Tone {
  if (value === null) return 'none'
  return value >= settings.green ? 'high' : value >= settings.yellow ? 'middle' : 'low'
}
