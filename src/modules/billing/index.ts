import { Elysia, t } from 'elysia'
import type { Config } from '../../config'
import type { BodyReader } from '../../http/body'
import { clientAddress } from '../../http/client-address'
import { badRequest, HttpError, internalError } from '../../http/errors'
import { errors } from '../../http/schemas'
import { sha256Hex } from '../../lib/hash'
import { mapRazorpayEvent } from './razorpay'
import { processBillingEvent, type BillingDeps, type BillingResult, type Provider } from './service'
import { mapStripeEvent } from './stripe'
import type { WebhookVerifiers } from './verifiers'

export type WebhookObserver = (provider: Provider, result: BillingResult | 'duplicate' | 'invalid_signature') => void

const Received = t.Object({ received: t.Literal(true), duplicate: t.Optional(t.Literal(true)) }, { description: 'Recorded (or already recorded)' })

function answer(outcome: { duplicate: boolean }) {
  return outcome.duplicate ? { received: true as const, duplicate: true as const } : { received: true as const }
}

export interface WebhookDeps extends BillingDeps {
  config: Config
  body: BodyReader
  verifiers: WebhookVerifiers
  observe?: WebhookObserver
  /** Counts a refused signature against the client address; throws 429 once its allowance is spent. */
  limitDenials?: (address: string) => void
}

/** Stripe and Razorpay webhooks: raw body verified with the official packages, then applied exactly once. */
export function billingModule(deps: WebhookDeps) {
  const { config } = deps
  const rawBody = async (request: Request) => Buffer.from(await deps.body.read(request))
  const refuse = (provider: Provider, request: Request, server: any, message: string): never => {
    deps.observe?.(provider, 'invalid_signature')
    deps.limitDenials?.(clientAddress(request, server, config.trustProxy))
    throw new HttpError(401, message)
  }
  return new Elysia({ name: 'billing' })
    .post(
      '/webhooks/stripe',
      async ({ request, server }) => {
        const secret = config.stripe.webhookSecret
        if (!secret) throw internalError('stripe webhook secret not configured')
        const signature = request.headers.get('stripe-signature')
        if (!signature) return refuse('stripe', request, server, 'missing Stripe-Signature header')
        const raw = await rawBody(request)
        const event = await deps.verifiers.stripe(raw, signature, secret)
        if (!event) return refuse('stripe', request, server, 'invalid signature')
        const outcome = processBillingEvent(deps, mapStripeEvent(event, config.stripe), sha256Hex(raw))
        deps.observe?.('stripe', outcome.duplicate ? 'duplicate' : outcome.result!)
        return answer(outcome)
      },
      {
        parse: 'none',
        response: { 200: Received, ...errors(400, 401, 408, 413, 429, 500, 503) },
        detail: { tags: ['Billing'], summary: 'Stripe webhook (Stripe-Signature)' },
      },
    )
    .post(
      '/webhooks/razorpay',
      async ({ request, server }) => {
        const secret = config.razorpay.webhookSecret
        if (!secret) throw internalError('razorpay webhook secret not configured')
        const signature = request.headers.get('x-razorpay-signature')
        if (!signature) return refuse('razorpay', request, server, 'missing X-Razorpay-Signature header')
        const raw = (await rawBody(request)).toString('utf8')
        if (!(await deps.verifiers.razorpay(raw, signature, secret))) return refuse('razorpay', request, server, 'invalid signature')
        const eventId = request.headers.get('x-razorpay-event-id')
        if (!eventId || eventId.length > 255) throw badRequest('missing required header: X-Razorpay-Event-Id')
        let body: unknown
        try {
          body = JSON.parse(raw)
        } catch {
          throw badRequest('malformed request')
        }
        if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('malformed request')
        // Razorpay signs the body, not the event-id header: the body's hash is what makes a delivery unique.
        const outcome = processBillingEvent(deps, mapRazorpayEvent(body as Record<string, unknown>, eventId, config.razorpay), sha256Hex(raw))
        deps.observe?.('razorpay', outcome.duplicate ? 'duplicate' : outcome.result!)
        return answer(outcome)
      },
      {
        parse: 'none',
        response: { 200: Received, ...errors(400, 401, 408, 413, 429, 500, 503) },
        detail: { tags: ['Billing'], summary: 'Razorpay webhook (X-Razorpay-Signature)' },
      },
    )
}
