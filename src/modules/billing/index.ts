import { Elysia, t } from 'elysia'
import type { Config } from '../../config'
import { badRequest, HttpError, internalError } from '../../http/errors'
import type { BodyReader } from '../../http/body'
import { errors } from '../../http/schemas'
import { mapRazorpayEvent, verifyRazorpay } from './razorpay'
import { processBillingEvent, type BillingDeps, type BillingResult, type Provider } from './service'
import { mapStripeEvent, verifyStripe } from './stripe'

export type WebhookObserver = (provider: Provider, result: BillingResult | 'duplicate' | 'invalid_signature') => void


const Received = t.Object({ received: t.Literal(true), duplicate: t.Optional(t.Literal(true)) }, { description: 'Recorded (or already recorded)' })

function answer(outcome: { duplicate: boolean }) {
  return outcome.duplicate ? { received: true as const, duplicate: true as const } : { received: true as const }
}

/** Stripe and Razorpay webhooks: raw body verified with the official packages, then applied exactly once. */
export function billingModule(deps: BillingDeps & { config: Config; body: BodyReader; observe?: WebhookObserver }) {
  const { config } = deps
  const rawBody = async (request: Request) => Buffer.from(await deps.body.read(request))
  const refuse = (provider: Provider, message: string): never => {
    deps.observe?.(provider, 'invalid_signature')
    throw new HttpError(401, message)
  }
  return new Elysia({ name: 'billing' })
    .post(
      '/webhooks/stripe',
      async ({ request }) => {
        const secret = config.stripe.webhookSecret
        if (!secret) throw internalError('stripe webhook secret not configured')
        const signature = request.headers.get('stripe-signature')
        if (!signature) refuse('stripe', 'missing Stripe-Signature header')
        const raw = await rawBody(request)
        let event
        try {
          event = await verifyStripe(raw, signature!, secret)
        } catch {
          return refuse('stripe', 'invalid signature')
        }
        const outcome = processBillingEvent(deps, mapStripeEvent(event, config.stripe))
        deps.observe?.('stripe', outcome.duplicate ? 'duplicate' : outcome.result!)
        return answer(outcome)
      },
      {
        parse: 'none',
        response: { 200: Received, ...errors(400, 401, 413, 500) },
        detail: { tags: ['Billing'], summary: 'Stripe webhook (Stripe-Signature)' },
      },
    )
    .post(
      '/webhooks/razorpay',
      async ({ request }) => {
        const secret = config.razorpay.webhookSecret
        if (!secret) throw internalError('razorpay webhook secret not configured')
        const signature = request.headers.get('x-razorpay-signature')
        if (!signature) refuse('razorpay', 'missing X-Razorpay-Signature header')
        const raw = (await rawBody(request)).toString('utf8')
        if (!(await verifyRazorpay(raw, signature!, secret))) refuse('razorpay', 'invalid signature')
        const eventId = request.headers.get('x-razorpay-event-id')
        if (!eventId || eventId.length > 255) throw badRequest('missing required header: X-Razorpay-Event-Id')
        let body: unknown
        try {
          body = JSON.parse(raw)
        } catch {
          throw badRequest('malformed request')
        }
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('malformed request')
        const outcome = processBillingEvent(deps, mapRazorpayEvent(body as Record<string, unknown>, eventId, config.razorpay))
        deps.observe?.('razorpay', outcome.duplicate ? 'duplicate' : outcome.result!)
        return answer(outcome)
      },
      {
        parse: 'none',
        response: { 200: Received, ...errors(400, 401, 413, 500) },
        detail: { tags: ['Billing'], summary: 'Razorpay webhook (X-Razorpay-Signature)' },
      },
    )
}
