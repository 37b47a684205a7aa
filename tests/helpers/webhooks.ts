import Stripe from 'stripe'
import { createHmac } from 'node:crypto'
import type { TestApp } from './app'

export const STRIPE_SECRET = 'whsec_test_secret_0123456789'
export const RAZORPAY_SECRET = 'rzp_webhook_secret_0123456789'
export const BILLING_ENV = {
  STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
  STRIPE_PRICE_TEAM: 'price_team',
  STRIPE_PRICE_ENTERPRISE: 'price_enterprise',
  RAZORPAY_WEBHOOK_SECRET: RAZORPAY_SECRET,
  RAZORPAY_PLAN_TEAM: 'plan_team',
  RAZORPAY_PLAN_ENTERPRISE: 'plan_enterprise',
}

const stripe = new Stripe('sk_test_unused')
let sequence = 0

export function stripeEvent(type: string, object: Record<string, unknown>, options: { id?: string; created?: number } = {}) {
  return { id: options.id ?? `evt_${++sequence}`, object: 'event', type, created: options.created ?? 1_700_000_000 + sequence, data: { object } }
}

/** Posts a payload signed the way Stripe signs it (the real package's test helper). */
export async function postStripe(t: TestApp, event: unknown, options: { secret?: string; timestamp?: number; header?: string | null; raw?: string } = {}) {
  const payload = options.raw ?? JSON.stringify(event)
  const header =
    options.header === undefined
      ? await stripe.webhooks.generateTestHeaderStringAsync({ payload, secret: options.secret ?? STRIPE_SECRET, timestamp: options.timestamp })
      : options.header
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (header !== null) headers['stripe-signature'] = header
  return t.request('POST', '/webhooks/stripe', { rawBody: payload, headers })
}

export function razorpayEvent(event: string, entity: 'subscription' | 'payment', fields: Record<string, unknown>, createdAt = 1_700_000_000 + ++sequence) {
  return { entity: 'event', account_id: 'acc_test', event, contains: [entity], payload: { [entity]: { entity: fields } }, created_at: createdAt }
}

/** Razorpay's scheme: hex HMAC-SHA256 of the raw body with the webhook secret. */
export function razorpaySignature(payload: string, secret = RAZORPAY_SECRET) {
  return createHmac('sha256', secret).update(payload).digest('hex')
}

export function postRazorpay(t: TestApp, body: unknown, options: { id?: string; signature?: string | null; raw?: string } = {}) {
  const payload = options.raw ?? JSON.stringify(body)
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-razorpay-event-id': options.id ?? `rzp_evt_${++sequence}` }
  const signature = options.signature === undefined ? razorpaySignature(payload) : options.signature
  if (signature !== null) headers['x-razorpay-signature'] = signature
  return t.request('POST', '/webhooks/razorpay', { rawBody: payload, headers })
}

/**
 * What the webhook helpers need of a test app, for any way of answering a Request: another instance's
 * `app.handle`, or `fetch` against a running server.
 */
export function webhookTarget(answer: (request: Request) => Promise<Response>): TestApp {
  return {
    request: async (method: string, path: string, options: { rawBody?: string; headers?: Record<string, string> }) => {
      const res = await answer(new Request(`http://localhost${path}`, { method, headers: options.headers, body: options.rawBody }))
      const text = await res.text()
      return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined }
    },
  } as unknown as TestApp
}
