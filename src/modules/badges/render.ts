import type satoriType from 'satori'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Lru } from '../../lib/lru'

/** Our element trees are plain objects in the shape satori reads (type, props, children), not React elements. */
type SatoriNode = Parameters<typeof satoriType>[0]

export const STYLES = ['flat', 'flat-square', 'for-the-badge'] as const
export type BadgeStyle = (typeof STYLES)[number]

/** The colour of the shown (rounded) number: ≥ 80 green, 60-79 yellow, < 60 red; no data grey. */
export function colourFor(shown: number | null): string {
  if (shown === null) return '#9f9f9f'
  if (shown >= 80) return '#4c1'
  if (shown >= 60) return '#dfb317'
  return '#e05d44'
}

/** Whole percent, as the badge shows it. */
export function shownPercent(coverage: number | null): number | null {
  return coverage === null ? null : Math.round(coverage)
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
function accessible(svg: string, description: string): string {
  const text = escapeXml(description)
  return svg.replace(/^<svg /, `<svg role="img" aria-label="${text}" `).replace(/^(<svg[^>]*>)/, `$1<title>${text}</title>`)
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

function trendTree(label: string, values: number[], width: number, height: number): Node {
  const latest = values.length ? values[values.length - 1]! : null
  const shown = shownPercent(latest)
  const colour = colourFor(shown)
  const chartHeight = height - 30
  const children: Node[] = [
    h('div', { display: 'flex', justifyContent: 'space-between', alignItems: 'center', height: 22, padding: '0 8px', fontSize: 12, color: '#333' }, [
      h('div', { display: 'flex' }, label),
      h('div', { display: 'flex', color: colour, fontWeight: 700 }, shown === null ? 'unknown' : `${shown}%`),
    ]),
  ]
  if (values.length >= 2) {
    const min = Math.max(0, Math.floor(Math.min(...values) - 2))
    const max = Math.min(100, Math.ceil(Math.max(...values) + 2))
    const span = Math.max(max - min, 1)
    const inner = width - 16
    const points = values
      .map((v, i) => `${((i / (values.length - 1)) * inner).toFixed(1)},${(chartHeight - 2 - ((v - min) / span) * (chartHeight - 4)).toFixed(1)}`)
      .join(' ')
    children.push(
      h('svg', {}, [
        h('polyline', {}, undefined, { points, fill: 'none', stroke: colour, 'stroke-width': 2, 'stroke-linejoin': 'round' }),
      ], { width: inner, height: chartHeight, viewBox: `0 0 ${inner} ${chartHeight}`, style: { margin: '4px 8px' } }),
    )
  } else {
    children.push(h('div', { display: 'flex', height: chartHeight, alignItems: 'center', justifyContent: 'center', color: '#9f9f9f', fontSize: 11 }, 'no data'))
  }
  return h('div', { display: 'flex', flexDirection: 'column', width, height, background: '#fff', fontFamily: 'DejaVu Sans', border: '1px solid #e1e4e8', borderRadius: 4 }, children)
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

export const TREND_WIDTH = 320
export const TREND_HEIGHT = 100

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
    badge(label: string, coverage: number | null, style: BadgeStyle): Rendered | Promise<Rendered> {
      const shown = shownPercent(coverage)
      const message = shown === null ? 'unknown' : `${shown}%`
      const colour = colourFor(shown)
      return cached(`b\0${style}\0${label}\0${message}`, async () => {
        const svg = await draw(badgeTree(label, message, colour, style), { height: style === 'for-the-badge' ? 28 : 20 })
        return accessible(svg, `${label}: ${message}`)
      })
    },
    /** A line chart of `values` (oldest first) with the latest printed. */
    trend(label: string, values: number[]): Rendered | Promise<Rendered> {
      const shown = shownPercent(values.length ? values[values.length - 1]! : null)
      return cached(`t\0${label}\0${values.join(',')}`, async () => {
        const svg = await draw(trendTree(label, values, TREND_WIDTH, TREND_HEIGHT), { width: TREND_WIDTH, height: TREND_HEIGHT })
        return accessible(svg, `${label} trend: ${shown === null ? 'unknown' : `${shown}%`}`)
      })
    },
    /** The first satori render costs tens of milliseconds (font parsing, layout engine start); pay it before serving. */
    async warm(): Promise<void> {
      for (const style of STYLES) await draw(badgeTree('coverage', '0%', colourFor(0), style), { height: 20 })
      await draw(trendTree('coverage', [1, 2], TREND_WIDTH, TREND_HEIGHT), { width: TREND_WIDTH, height: TREND_HEIGHT })
    },
  }
}

export type Renderer = ReturnType<typeof createRenderer>
