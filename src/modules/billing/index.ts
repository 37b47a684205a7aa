import type { MaybePromise } from '../../lib/maybe'
import { Elysia } from 'elysia'
import type { Config } from '../../config'
import type { BodyReader } from '../../http/body'
import type { AddressLimit } from '../../http/rate-limit'
import { clientAddress, type Peer } from '../../http/client-address'
import { badRequest, HttpError, internalError } from '../../http/errors'
import { documents, errors } from '../../http/schemas'
import { sha256Hex } from '../../lib/hash'
import { mapRazorpayEvent } from './razorpay'
import { processBillingEvent, type BillingDeps, type BillingResult, type Provider } from './service'
import { mapStripeEvent } from './stripe'
import { RAZORPAY_BODY, Received, STRIPE_BODY } from './model'
import type { WebhookVerifiers } from './verifiers'

export type WebhookObserver = (provider: Provider, result: BillingResult | 'duplicate' | 'invalid_signature') => void

function answer(outcome: { duplicate: boolean }) {
  return outcome.duplicate ? { received: true as const, duplicate: true as const } : { received: true as const }
}

export interface WebhookDeps extends BillingDeps {
  config: Config
  body: BodyReader
  verifiers: WebhookVerifiers
  observe?: WebhookObserver
  /** Counts a refused signature against the client address; throws 429 once its allowance is spent. */
  limitDenials?: (address: string) => MaybePromise<void>
  /** The per-address limit of unauthenticated routes, taken before a byte of the body is read. */
  limitAddress?: AddressLimit
}

/** Stripe and Razorpay webhooks: raw body verified with the official packages, then applied exactly once. */
export function billingModule(deps: WebhookDeps) {
  const { config } = deps
  const rawBody = async (request: Request, server: Peer) => Buffer.from(await deps.body.read(request, server))
  const refuse = async (provider: Provider, request: Request, server: Peer, message: string): Promise<never> => {
    deps.observe?.(provider, 'invalid_signature')
    await deps.limitDenials?.(clientAddress(request, server, config.trustProxy))
    throw new HttpError(401, message)
  }
  return new Elysia({ name: 'billing' })
    .post(
      '/webhooks/stripe',
      async ({ request, server, set }) => {
        await deps.limitAddress?.(request, server, set)
        const secret = config.stripe.webhookSecret
        if (!secret) throw internalError('stripe webhook secret not configured')
        const signature = request.headers.get('stripe-signature')
        if (!signature) return refuse('stripe', request, server, 'missing Stripe-Signature header')
        const raw = await rawBody(request, server)
        const event = await deps.verifiers.stripe(raw, signature, secret)
        if (!event) return refuse('stripe', request, server, 'invalid signature')
        const outcome = await processBillingEvent(deps, mapStripeEvent(event, config.stripe), sha256Hex(raw))
        deps.observe?.('stripe', outcome.duplicate ? 'duplicate' : outcome.result!)
        return answer(outcome)
      },
      {
        parse: 'none',
        response: { 200: Received, ...errors(400, 401, 408, 413, 429, 500, 503) },
        detail: {
          tags: ['Billing'],
          summary: 'Stripe webhook (Stripe-Signature)',
          description: "Stripe's event JSON, verified over the raw bytes with the official `stripe` package (300 s tolerance).",
          ...documents({
            body: STRIPE_BODY,
            headers: [{ name: 'Stripe-Signature', required: true, description: '`t=<unix time>,v1=<hex HMAC-SHA256>` as Stripe sends it' }],
          }),
        },
      },
    )
    .post(
      '/webhooks/razorpay',
      async ({ request, server, set }) => {
        await deps.limitAddress?.(request, server, set)
        const secret = config.razorpay.webhookSecret
        if (!secret) throw internalError('razorpay webhook secret not configured')
        const signature = request.headers.get('x-razorpay-signature')
        if (!signature) return refuse('razorpay', request, server, 'missing X-Razorpay-Signature header')
        const raw = (await rawBody(request, server)).toString('utf8')
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
        const outcome = await processBillingEvent(deps, mapRazorpayEvent(body as Record<string, unknown>, eventId, config.razorpay), sha256Hex(raw))
        deps.observe?.('razorpay', outcome.duplicate ? 'duplicate' : outcome.result!)
        return answer(outcome)
      },
      {
        parse: 'none',
        response: { 200: Received, ...errors(400, 401, 408, 413, 429, 500, 503) },
        detail: {
          tags: ['Billing'],
          summary: 'Razorpay webhook (X-Razorpay-Signature)',
          description: "Razorpay's event JSON, verified over the raw bytes with the official `razorpay` package; a body is applied at most once, whatever its event id.",
          ...documents({
            body: RAZORPAY_BODY,
            headers: [
              { name: 'X-Razorpay-Signature', required: true, description: 'Hex HMAC-SHA256 of the raw body with the webhook secret', schema: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
              { name: 'X-Razorpay-Event-Id', required: true, description: "Razorpay's event id", schema: { type: 'string', minLength: 1, maxLength: 255 } },
            ],
          }),
        },
      },
    )
}
