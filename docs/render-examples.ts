/** Renders one badge of each style and a trend graph to PNG for the README: `bun docs/render-examples.ts`. */
import { Resvg } from '@resvg/resvg-js'
import { createRenderer } from '../src/modules/badges/render'

const renderer = createRenderer()
const out = import.meta.dir
const pictures = {
  'badge-flat': await renderer.badge('coverage', 84.2, 'flat'),
  'badge-flat-square': await renderer.badge('coverage', 72, 'flat-square'),
  'badge-for-the-badge': await renderer.badge('coverage', 55, 'for-the-badge'),
  'badge-unknown': await renderer.badge('coverage', null, 'flat'),
  trend: await renderer.trend('coverage', [71, 72.5, 72, 74, 76.3, 75.9, 78, 79.1, 81, 82.4, 84.2]),
}
for (const [name, { svg }] of Object.entries(pictures)) {
  await Bun.write(`${out}/${name}.png`, new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 } }).render().asPng())
  console.log(`${out}/${name}.png`)
}
