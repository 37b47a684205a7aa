import { t } from 'elysia'

export const Received = t.Object({ received: t.Literal(true), duplicate: t.Optional(t.Literal(true)) }, { description: 'Recorded (or already recorded)' })

/** The event bodies, documented only: the routes verify raw bytes, so there is no body schema to validate with. */
export const STRIPE_BODY = t.Object(
  { id: t.String(), object: t.Literal('event'), type: t.String(), created: t.Integer(), data: t.Object({ object: t.Object({}, { additionalProperties: true }) }) },
  {
    additionalProperties: true,
    description: 'A Stripe event',
    examples: [{ id: 'evt_1', object: 'event', type: 'customer.subscription.updated', created: 1773824400, data: { object: { id: 'sub_1', customer: 'cus_1', status: 'active', metadata: { org_id: 'acme' } } } }],
  },
)

export const RAZORPAY_BODY = t.Object(
  { event: t.String(), payload: t.Object({}, { additionalProperties: true }), created_at: t.Integer() },
  {
    additionalProperties: true,
    description: 'A Razorpay event',
    examples: [{ entity: 'event', event: 'subscription.activated', payload: { subscription: { entity: { id: 'sub_1', plan_id: 'plan_team', notes: { org_id: 'acme' } } } }, created_at: 1773824400 }],
  },
)
