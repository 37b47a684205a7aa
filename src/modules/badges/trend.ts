import type { Outcome } from '../../db/schema'
import { toneOfValue, type Tone } from '../repos/badge-settings'

/** One run as the trend graph draws it. */
export interface TrendPoint {
  coverage: number
  baseline: number | null
  outcome: Outcome
  /** When it was recorded (ms). */
  at: number
}

export type Theme = 'light' | 'dark'
export type Scale = 'auto' | 'full'

export const TREND_WIDTH = 320
export const TREND_HEIGHT = 100

/**
 * Colours per theme. Every text colour has a contrast of at least 4.5:1 (WCAG AA) on its background
 * (tests/badges.test.ts computes each); the line and marks take the same hues. Light follows GitHub's light
 * palette, dark its dark one, so the card sits in a README in either mode.
 */
export const THEMES = {
  light: { background: '#ffffff', border: '#d0d7de', text: '#24292f', muted: '#57606a', baseline: '#8c959f', pass: '#1a7f37', warn: '#9a6700', fail: '#cf222e', high: '#1a7f37', middle: '#9a6700', low: '#cf222e', none: '#57606a' },
  dark: { background: '#0d1117', border: '#30363d', text: '#e6edf3', muted: '#8d96a0', baseline: '#6e7681', pass: '#3fb950', warn: '#d29922', fail: '#f85149', high: '#3fb950', middle: '#d29922', low: '#f85149', none: '#8d96a0' },
} as const satisfies Record<Theme, Record<string, string>>

/** The latest value's colour by the default rule (≥ 80, 60-79, < 60), in the theme's readable shades. */
export function trendColour(theme: Theme, shown: number | null): string {
  return THEMES[theme][toneOfValue(shown)]
}

/** The header's latest value: its text and which of the theme's colours it takes (the repository's badge settings decide). */
export interface TrendFace {
  message: string
  tone: Tone
}

type Node = { type: string; props: Record<string, unknown> }
const h = (type: string, style: Record<string, unknown>, children?: unknown, extra: Record<string, unknown> = {}): Node => ({ type, props: { style, children, ...extra } })

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10)
const minute = (ms: number) => new Date(ms).toISOString().slice(11, 16)

/** The footer: the first and last dates; within one day, the day and both times (UTC). */
function dates(first: number, last: number, runs: number): Node[] {
  const cell = (text: string) => h('div', { display: 'flex' }, text)
  if (runs === 1) return [cell(day(first)), cell('')]
  if (day(first) === day(last)) return [cell(`${day(first)} ${minute(first)}`), cell(`${minute(last)} UTC`)]
  return [cell(day(first)), cell(day(last))]
}
const percent = (value: number) => `${Math.round(value)}%`

/** The range the y axis shows: 0-100, or the shown runs' own (coverage and baselines), in whole percent. */
function yRange(points: TrendPoint[], scale: Scale): { lo: number; hi: number } {
  if (scale === 'full') return { lo: 0, hi: 100 }
  const values = points.flatMap((p) => (p.baseline === null ? [p.coverage] : [p.coverage, p.baseline]))
  const lo = Math.floor(Math.min(...values))
  const hi = Math.max(Math.ceil(Math.max(...values)), lo + 1)
  return { lo, hi }
}

/** What a screen reader says of the graph (its `<desc>`). */
export function trendDescription(label: string, points: TrendPoint[]): string {
  if (points.length === 0) return `${label}: no runs yet`
  const first = points[0]!
  const last = points[points.length - 1]!
  const warn = points.filter((p) => p.outcome === 'warn').length
  const fail = points.filter((p) => p.outcome === 'fail').length
  const span = points.length === 1 ? `1 run on ${day(last.at)}` : `${points.length} runs from ${day(first.at)} to ${day(last.at)}, from ${percent(first.coverage)} to ${percent(last.coverage)}`
  return `${label}: ${span}; latest ${percent(last.coverage)}${last.baseline === null ? '' : ` against a baseline of ${percent(last.baseline)}`}; ${warn} warn, ${fail} fail`
}

/** The chart itself, an SVG of its own (satori embeds it): the coverage line, the baseline, warn and fail marks. */
function chart(points: TrendPoint[], width: number, height: number, theme: Theme, scale: Scale, colour: string): Node {
  const palette = THEMES[theme]
  const { lo, hi } = yRange(points, scale)
  const pad = 4
  const x = (i: number) => (points.length === 1 ? width / 2 : pad + (i / (points.length - 1)) * (width - 2 * pad))
  const y = (v: number) => pad + (1 - (v - lo) / (hi - lo)) * (height - 2 * pad)
  const line = (values: (number | null)[]) =>
    values
      .map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`))
      .filter((p) => p !== null)
      .join(' ')
  const children: Node[] = [
    // Guide lines at the top and bottom of the scale, where the axis labels sit.
    h('line', {}, undefined, { x1: 0, x2: width, y1: pad, y2: pad, stroke: palette.border, 'stroke-width': 1 }),
    h('line', {}, undefined, { x1: 0, x2: width, y1: height - pad, y2: height - pad, stroke: palette.border, 'stroke-width': 1 }),
  ]
  if (points.some((p) => p.baseline !== null))
    children.push(h('polyline', {}, undefined, { points: line(points.map((p) => p.baseline)), fill: 'none', stroke: palette.baseline, 'stroke-width': 1.5, 'stroke-dasharray': '4 3' }))
  if (points.length > 1) children.push(h('polyline', {}, undefined, { points: line(points.map((p) => p.coverage)), fill: 'none', stroke: colour, 'stroke-width': 2, 'stroke-linejoin': 'round' }))
  points.forEach((p, i) => {
    const mark = p.outcome === 'fail' ? palette.fail : p.outcome === 'warn' ? palette.warn : points.length === 1 ? colour : null
    if (mark) children.push(h('circle', {}, undefined, { cx: x(i).toFixed(1), cy: y(p.coverage).toFixed(1), r: 3, fill: mark, stroke: palette.background, 'stroke-width': 1 }))
  })
  return h('svg', {}, children, { width, height, viewBox: `0 0 ${width} ${height}` })
}

/**
 * The trend card: the label and the latest value, the y axis's top and bottom, the chart, the first and
 * last dates; or "no data". Everything inside its 320×100 frame (the border is inside the size).
 */
export function trendTree(label: string, points: TrendPoint[], theme: Theme, scale: Scale, face?: TrendFace): Node {
  const palette = THEMES[theme]
  const latest = points.length ? points[points.length - 1]! : null
  const shown = latest === null ? null : Math.round(latest.coverage)
  const colour = face ? palette[face.tone] : trendColour(theme, shown)
  const message = face ? face.message : shown === null ? 'unknown' : `${shown}%`
  const axis = 30
  const chartWidth = TREND_WIDTH - 2 - 8 - axis - 8
  const chartHeight = TREND_HEIGHT - 2 - 20 - 16
  const header = h('div', { display: 'flex', justifyContent: 'space-between', alignItems: 'center', height: 20, padding: '0 8px', fontSize: 12 }, [
    h('div', { display: 'flex', color: palette.text }, label),
    h('div', { display: 'flex', color: colour, fontWeight: 700 }, message),
  ])
  let body: Node[]
  if (latest === null) {
    body = [h('div', { display: 'flex', flexGrow: 1, alignItems: 'center', justifyContent: 'center', color: palette.muted, fontSize: 11 }, 'no data')]
  } else {
    const { lo, hi } = yRange(points, scale)
    body = [
      h('div', { display: 'flex', height: chartHeight, padding: '0 8px' }, [
        h('div', { display: 'flex', flexDirection: 'column', justifyContent: 'space-between', width: axis, paddingRight: 4, alignItems: 'flex-end', color: palette.muted, fontSize: 9 }, [
          h('div', { display: 'flex' }, `${hi}%`),
          h('div', { display: 'flex' }, `${lo}%`),
        ]),
        chart(points, chartWidth, chartHeight, theme, scale, colour),
      ]),
      h('div', { display: 'flex', justifyContent: 'space-between', height: 16, padding: `0 8px 0 ${8 + axis}px`, alignItems: 'center', color: palette.muted, fontSize: 9 }, dates(points[0]!.at, latest.at, points.length)),
    ]
  }
  return h(
    'div',
    { display: 'flex', flexDirection: 'column', boxSizing: 'border-box', width: TREND_WIDTH, height: TREND_HEIGHT, background: palette.background, fontFamily: 'DejaVu Sans', border: `1px solid ${palette.border}`, borderRadius: 4 },
    [header, ...body],
  )
}
