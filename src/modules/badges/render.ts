import type satoriType from 'satori'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Lru } from '../../lib/lru'
import { TREND_HEIGHT, TREND_WIDTH, trendDescription, trendTree, type Scale, type Theme, type TrendPoint } from './trend'
import { DEFAULT_BADGE, shownValue, toneOf, toneOfValue, type BadgeSettings, type Tone } from '../repos/badge-settings'
import type { Outcome } from '../../db/schema'

/** Our element trees are plain objects in the shape satori reads (type, props, children), not React elements. */
type SatoriNode = Parameters<typeof satoriType>[0]

export const STYLES = ['flat', 'flat-square', 'for-the-badge'] as const
export type BadgeStyle = (typeof STYLES)[number]

/** The badge's colours: green, yellow, red, and grey for no data. */
export const BADGE_TONES: Record<Tone, string> = { high: '#4c1', middle: '#dfb317', low: '#e05d44', none: '#9f9f9f' }

/** The colour of the shown (rounded) number by the default rule: ≥ 80 green, 60-79 yellow, < 60 red; no data grey. */
export function colourFor(shown: number | null): string {
  return BADGE_TONES[toneOfValue(shown)]
}

/** Whole percent, as the badge shows it by default. */
export function shownPercent(coverage: number | null): number | null {
  return coverage === null ? null : Math.round(coverage)
}

/** What a badge or the trend's header shows of a run under a repository's settings: the text and its tone. */
export interface Face {
  message: string
  tone: Tone
}

export function faceOf(shown: { coverage: number; outcome: Outcome } | null, settings: BadgeSettings = DEFAULT_BADGE): Face {
  const value = shownValue(shown?.coverage ?? null, settings.precision)
  return { message: value === null ? 'unknown' : `${value.toFixed(settings.precision)}%`, tone: toneOf(shown, settings) }
}

export interface Rendered {
  /** UTF-8 bytes: about half the memory of the same SVG held as a JS string, and sent as-is. */
  svg: Buffer
  etag: string
}

const FONT_DIR = join(dirname(Bun.resolveSync('dejavu-fonts-ttf/package.json', import.meta.dir)), 'ttf')

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/**
 * Satori draws every glyph as a path, so query text never reaches the SVG as markup; the only text we
 * place ourselves (title and aria-label) is XML-escaped here.
 */
function accessible(svg: string, description: string, long?: string): string {
  const text = escapeXml(description)
  const desc = long === undefined ? '' : `<desc>${escapeXml(long)}</desc>`
  return svg.replace(/^<svg /, `<svg role="img" aria-label="${text}" `).replace(/^(<svg[^>]*>)/, `$1<title>${text}</title>${desc}`)
}

function etagOf(svg: string): string {
  return `"${new Bun.CryptoHasher('sha256').update(svg).digest('base64url').slice(0, 27)}"`
}

type Node = { type: string; props: Record<string, unknown> }
const h = (type: string, style: Record<string, unknown>, children?: unknown, extra: Record<string, unknown> = {}): Node => ({
  type,
  props: { style, children, ...extra },
})

function badgeTree(label: string, message: string, colour: string, style: BadgeStyle): Node {
  const big = style === 'for-the-badge'
  const height = big ? 28 : 20
  const box = (text: string, background: string, bold: boolean) =>
    h(
      'div',
      {
        display: 'flex',
        alignItems: 'center',
        height,
        padding: big ? '0 11px' : '0 6px',
        background,
        color: '#fff',
        fontWeight: bold ? 700 : 400,
        letterSpacing: big ? 1.25 : 0,
        textShadow: big ? 'none' : '0 1px 0 rgba(1,1,1,0.3)',
      },
      big ? text.toUpperCase() : text,
    )
  return h(
    'div',
    {
      display: 'flex',
      height,
      fontFamily: 'DejaVu Sans',
      fontSize: big ? 10 : 11,
      borderRadius: style === 'flat' ? 3 : 0,
      overflow: 'hidden',
      backgroundImage: style === 'flat' ? 'linear-gradient(to bottom, rgba(187,187,187,0.1), rgba(0,0,0,0.1))' : 'none',
    },
    [box(label, '#555', false), box(message, colour, big)],
  )
}

interface Font {
  name: string
  data: Buffer
  weight: 400 | 700
  style: 'normal'
}

function readFonts(): Font[] {
  return [
    { name: 'DejaVu Sans', data: readFileSync(join(FONT_DIR, 'DejaVuSans.ttf')), weight: 400, style: 'normal' },
    { name: 'DejaVu Sans', data: readFileSync(join(FONT_DIR, 'DejaVuSans-Bold.ttf')), weight: 700, style: 'normal' },
  ]
}

export { TREND_HEIGHT, TREND_WIDTH } from './trend'

/**
 * Renders badges and trend graphs with satori, caching every picture in a bounded LRU keyed by all
 * that changes it, so a repeated badge costs a map lookup rather than a render.
 */
export function createRenderer(options: { cacheSize?: number } = {}) {
  // satori (with its layout engine) costs ~70 ms and ~50 MB to load, and the fonts a few ms to read: both on
  // first use, which index.ts makes happen soon after listen (warm).
  let loaded: Promise<{ satori: typeof satoriType; fonts: Font[] }> | undefined
  async function draw(tree: unknown, options: { width?: number; height: number }): Promise<string> {
    loaded ??= import('satori')
      .then((m) => ({ satori: m.default, fonts: readFonts() }))
      .catch((error) => {
        loaded = undefined
        throw error
      })
    const { satori, fonts } = await loaded
    return satori(tree as SatoriNode, { ...options, fonts } as Parameters<typeof satoriType>[1])
  }
  // 500 pictures: the hot badges stay cached, and a miss costs ~0.5 ms. Measured with 30,000 distinct
  // badges, the process settles near 180 MB with 500 entries and 230 MB with 2,000 (flat after that: no leak).
  // And at most 16 MiB of SVG, however large the trend graphs of the pictures asked for.
  const cache = new Lru<string, Rendered>(options.cacheSize ?? 500, { maxWeight: 16 * 1024 * 1024, weigh: (key, rendered) => key.length + rendered.svg.byteLength + 128 })
  const stats = { hits: 0, renders: 0 }

  /** The cached picture itself (no promise) on a hit, so a cached badge is answered synchronously. */
  function cached(key: string, draw: () => Promise<string>): Rendered | Promise<Rendered> {
    const hit = cache.get(key)
    if (hit) {
      stats.hits++
      return hit
    }
    return render(key, draw)
  }

  async function render(key: string, draw: () => Promise<string>): Promise<Rendered> {
    stats.renders++
    const text = await draw()
    const rendered = { svg: Buffer.from(text), etag: etagOf(text) }
    cache.set(key, rendered)
    return rendered
  }

  return {
    stats,
    cache,
    /** `label: message` in the given style; the cached answer when this exact picture was drawn before. */
    badge(label: string, face: Face, style: BadgeStyle): Rendered | Promise<Rendered> {
      const colour = BADGE_TONES[face.tone]
      return cached(`b\0${style}\0${label}\0${face.message}\0${colour}`, async () => {
        const svg = await draw(badgeTree(label, face.message, colour, style), { height: style === 'for-the-badge' ? 28 : 20 })
        return accessible(svg, `${label}: ${face.message}`)
      })
    },
    /** The trend card of `points` (oldest first): latest value, axis, dates, warn and fail marks, the baseline. */
    trend(label: string, points: TrendPoint[], options: { theme?: Theme; scale?: Scale; settings?: BadgeSettings } = {}): Rendered | Promise<Rendered> {
      const theme = options.theme ?? 'light'
      const scale = options.scale ?? 'auto'
      const last = points.length ? points[points.length - 1]! : null
      const face = faceOf(last, options.settings)
      const key = `t\0${label}\0${theme}\0${scale}\0${face.message}\0${face.tone}\0${points.map((p) => `${p.coverage}/${p.baseline ?? ''}/${p.outcome[0]}/${p.at}`).join(',')}`
      return cached(key, async () => {
        const svg = await draw(trendTree(label, points, theme, scale, face), { width: TREND_WIDTH, height: TREND_HEIGHT })
        return accessible(svg, `${label} trend: ${face.message}`, trendDescription(label, points))
      })
    },
    /** The first satori render costs tens of milliseconds (font parsing, layout engine start); pay it before serving. */
    async warm(): Promise<void> {
      for (const style of STYLES) await draw(badgeTree('coverage', '0%', colourFor(0), style), { height: 20 })
      const warmPoints: TrendPoint[] = [{ coverage: 1, baseline: 1, outcome: 'pass', at: 0 }, { coverage: 2, baseline: null, outcome: 'fail', at: 1 }]
      await draw(trendTree('coverage', warmPoints, 'light', 'auto', faceOf(warmPoints[1]!)), { width: TREND_WIDTH, height: TREND_HEIGHT })
    },
  }
}

export type Renderer = ReturnType<typeof createRenderer>
