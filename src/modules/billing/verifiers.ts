import type Stripe from 'stripe'
import { STRIPE_TOLERANCE_SECONDS } from './stripe'

/** How the official packages are loaded (a test seam: a load can fail, e.g. with no descriptors left). */
export interface PackageLoader {
  stripe: () => Promise<{ default: typeof Stripe }>
  razorpay: () => Promise<{ default: { validateWebhookSignature(body: string, signature: string, secret: string): boolean } }>
}

/**
 * Resolved when the server is built, while descriptors are plentiful; loaded on the first webhook. Bun
 * remembers a resolution that failed (a directory it could not read, say with every descriptor taken by
 * a flood) and fails every later `import('razorpay')` the same way until a restart, while an import of
 * the resolved file that fails (EMFILE) is simply tried again by the next webhook.
 */
export function packageLoader(): PackageLoader {
  const stripe = Bun.resolveSync('stripe', import.meta.dir)
  const razorpay = Bun.resolveSync('razorpay', import.meta.dir)
  return {
    stripe: () => import(stripe),
    razorpay: () => import(razorpay),
  }
}

const HEX_SHA256 = /^[0-9a-f]{64}$/

/**
 * The `t=` of a Stripe-Signature header in seconds, or null. The package bounds only a signature's age;
 * one dated ahead of now is refused here (a clock far ahead, or a header minted to outlive the window).
 */
function stripeTimestamp(header: string): number | null {
  for (const part of header.split(',')) {
    const [key, value] = part.split('=', 2)
    if (key?.trim() === 't' && value !== undefined && /^\d{1,12}$/.test(value.trim())) return Number(value.trim())
  }
  return null
}

/**
 * Signature checks with the official `stripe` and `razorpay` packages, loaded on the first webhook that
 * needs each (together ~40 MB and ~100 ms of the event loop that most self-hosters never use). A failed
 * load is forgotten, so the next webhook tries again: a load failure throws (500, and the provider retries
 * later) and is never mistaken for a bad signature.
 */
export function createWebhookVerifiers(loader: PackageLoader = packageLoader(), now: () => number = Date.now) {
  let stripe: Promise<Stripe> | undefined
  let razorpay: ReturnType<PackageLoader['razorpay']> | undefined

  const loadStripe = () =>
    (stripe ??= loader
      .stripe()
      // The client only verifies signatures; it never calls Stripe's API, so it needs no API key.
      .then(({ default: StripeClient }) => new StripeClient('sk_webhook_verification_only'))
      .catch((error) => {
        stripe = undefined
        throw error
      }))
  const loadRazorpay = () =>
    (razorpay ??= loader.razorpay().catch((error) => {
      razorpay = undefined
      throw error
    }))

  return {
    /** The verified event, or null when the signature (or its timestamp) is wrong. Throws only if the package cannot load. */
    async stripe(raw: Buffer, header: string, secret: string): Promise<Stripe.Event | null> {
      // Real time, as the package's own age check uses: the window is 300 s either side of now.
      const signedAt = stripeTimestamp(header)
      if (signedAt !== null && signedAt - now() / 1000 > STRIPE_TOLERANCE_SECONDS) return null
      const client = await loadStripe()
      try {
        // The worker build of the package under Bun needs the async variant.
        return await client.webhooks.constructEventAsync(raw, header, secret, STRIPE_TOLERANCE_SECONDS)
      } catch {
        return null
      }
    },
    /** Whether `signature` is the hex HMAC-SHA256 of the raw body. Throws only if the package cannot load. */
    async razorpay(raw: string, signature: string, secret: string): Promise<boolean> {
      if (!HEX_SHA256.test(signature)) return false
      const { default: Razorpay } = await loadRazorpay()
      return Razorpay.validateWebhookSignature(raw, signature, secret)
    },
  }
}

export type WebhookVerifiers = ReturnType<typeof createWebhookVerifiers>
