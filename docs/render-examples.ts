/** Renders the badges and the trend graph's cases to PNG for the README: `bun docs/render-examples.ts`. */
import { Resvg } from '@resvg/resvg-js'
import { createRenderer, faceOf } from '../src/modules/badges/render'
import type { TrendPoint } from '../src/modules/badges/trend'

const renderer = createRenderer()
const out = import.meta.dir
const DAY = 86_400_000
const start = Date.UTC(2026, 2, 1, 9)
const coverage = [71, 72.5, 72, 74, 76.3, 75.1, 78, 79.1, 77.6, 82.4, 84.2]
const runs: TrendPoint[] = coverage.map((value, i) => {
  const baseline = i === 0 ? 70 : coverage[i - 1]!
  const delta = value - baseline
  return { coverage: value, baseline, outcome: delta > -0.5 ? 'pass' : delta > -1 ? 'warn' : 'fail', at: start + i * 2 * DAY }
})
const pictures = {
  'badge-flat': await renderer.badge('coverage', faceOf({ coverage: 84.2, outcome: 'pass' }), 'flat'),
  'badge-flat-square': await renderer.badge('coverage', faceOf({ coverage: 72, outcome: 'pass' }), 'flat-square'),
  'badge-for-the-badge': await renderer.badge('coverage', faceOf({ coverage: 55, outcome: 'pass' }), 'for-the-badge'),
  'badge-unknown': await renderer.badge('coverage', faceOf(null), 'flat'),
  trend: await renderer.trend('coverage', runs),
  'trend-dark': await renderer.trend('coverage', runs, { theme: 'dark' }),
  'trend-full-scale': await renderer.trend('coverage', runs, { scale: 'full' }),
  'trend-one-run': await renderer.trend('coverage', [{ coverage: 64.5, baseline: null, outcome: 'pass', at: start }]),
  'trend-no-data': await renderer.trend('coverage', []),
}
for (const [name, { svg }] of Object.entries(pictures)) {
  await Bun.write(`${out}/${name}.png`, new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 } }).render().asPng())
  console.log(`${out}/${name}.png`)
}
