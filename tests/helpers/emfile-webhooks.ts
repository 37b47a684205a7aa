/**
 * Run under `prlimit --nofile=…` by integrity.test.ts: builds the server in this process, takes every free
 * descriptor (as a connection flood does), sends a correctly signed Stripe and Razorpay webhook (the first
 * after start, so each package loads now), gives the descriptors back and sends the same deliveries again.
 * Prints one JSON line: the statuses and the organisation's plan at the end.
 */
import { closeSync, mkdtempSync, openSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { openDatabase } from '../../src/db/client'
import { memoryLogger } from '../../src/lib/logger'
import { createHmac } from 'node:crypto'
import { SERVICE_TOKEN } from './app'

// Signed by hand: importing the `stripe` package here (helpers/webhooks.ts does) would load it before the flood.
const BILLING_ENV = { STRIPE_WEBHOOK_SECRET: 'whsec_emfile', STRIPE_PRICE_TEAM: 'price_team', RAZORPAY_WEBHOOK_SECRET: 'rzp_emfile', RAZORPAY_PLAN_ENTERPRISE: 'plan_enterprise' }
const hmac = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('hex')

const config = loadConfig({ DATABASE_URL: join(mkdtempSync(join(tmpdir(), 'nolapse-emfile-')), 'e.db'), SERVICE_TOKEN, ...BILLING_ENV })
const db = openDatabase(config.databaseUrl)
const app = createApp({ config, db, logger: memoryLogger() })
const post = async (path: string, payload: string, headers: Record<string, string>) =>
  (await app.handle(new Request(`http://localhost${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload }))).status
const postStripe = (payload: string) => post('/webhooks/stripe', payload, { 'stripe-signature': `t=${Math.floor(Date.now() / 1000)},v1=${hmac(BILLING_ENV.STRIPE_WEBHOOK_SECRET, `${Math.floor(Date.now() / 1000)}.${payload}`)}` })
const postRazorpay = (payload: string) => post('/webhooks/razorpay', payload, { 'x-razorpay-signature': hmac(BILLING_ENV.RAZORPAY_WEBHOOK_SECRET, payload), 'x-razorpay-event-id': 'evt_r' })
const created = await app.handle(
  new Request('http://localhost/v1/sessions/create', { method: 'POST', headers: { authorization: `Bearer ${SERVICE_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 'u', org_slug: 'acme' }) }),
)
const orgId = ((await created.json()) as { org_id: string }).org_id
const stripe = JSON.stringify({ id: 'evt_s', object: 'event', type: 'customer.subscription.created', created: 1_700_000_000, data: { object: { id: 'sub_1', customer: 'cus_1', status: 'active', metadata: { org_id: orgId }, items: { data: [{ price: { id: 'price_team' } }] } } } })
const razorpay = JSON.stringify({ entity: 'event', event: 'subscription.activated', payload: { subscription: { entity: { id: 'sub_r', plan_id: 'plan_enterprise', customer_id: 'cust_r', notes: { org_id: orgId } } } }, created_at: 1_700_000_001 })

const held: number[] = []
try {
  for (;;) held.push(openSync('/dev/null', 'r'))
} catch {
  // every descriptor is taken
}
const during = [await postStripe(stripe), await postRazorpay(razorpay)]
for (const fd of held) closeSync(fd)
const after = [await postStripe(stripe), await postRazorpay(razorpay)]
const plan = (await db.get<{ plan: string }>('SELECT plan FROM organisations WHERE id = ?', [orgId]))!.plan
console.log(JSON.stringify({ held: held.length, during, after, plan }))
process.exit(0)
