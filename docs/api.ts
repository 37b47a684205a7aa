/** Writes docs/api.md from the served OpenAPI document and the enforced limits: `bun run docs:api`. */
import { createApp } from '../src/app'
import { loadConfig } from '../src/config'
import { openDatabase } from '../src/db/client'
import { apiReference } from '../src/modules/docs/reference'

const db = openDatabase(':memory:')
const app = createApp({ config: loadConfig({ DATABASE_URL: ':memory:' }), db })
const doc = await (await app.handle(new Request('http://localhost/swagger/json'))).json()
await Bun.write(new URL('./api.md', import.meta.url), apiReference(doc))
await app.stop()
db.close()
console.log('docs/api.md written')
