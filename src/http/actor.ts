import type { Plan } from '../db/schema'
import type { Principal } from './auth'
import { clientAddress, type Peer } from './client-address'

/** Who is acting, for the audit trail. */
export interface Actor {
  orgId: string
  plan: Plan
  actor: string
  remote: string
}

export function actorOf(principal: Principal, request: Request, server: Peer, trustProxy: boolean): Actor {
  return {
    orgId: principal.org.id,
    plan: principal.org.plan,
    actor: principal.kind === 'session' ? `user:${principal.userId}` : `token:${principal.tokenId}`,
    remote: clientAddress(request, server, trustProxy),
  }
}
