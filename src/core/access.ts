import type { Kysely } from "kysely";
import type { Actor } from "./actor.ts";
import type { Capability } from "./capabilities.ts";
import type { DB } from "./db/schema.ts";
import { type ClubError, forbidden, notFound, unauthenticated } from "./errors.ts";

/* Who may act (S-1), declared once on the action and read by everything else: the route guard, the
 * action's transaction, `clubos routes` and the OpenAPI document. An action needs a capability, a
 * named resource policy, or both. The capability is checked before any work; the policy decides about
 * the thing acted on (this event, that registration, that member) inside the action's transaction, so
 * the check and the write see the same rows. */

/** What a policy reads with: the action's transaction (or, for a read route, the database). */
export interface PolicyScope {
  db: Kysely<DB>;
  actor: Actor;
}

/** An object-level rule: "chairs this event's committee", "owns this registration". */
export interface Policy<I> {
  /** Stable name shown by `clubos routes` and the OpenAPI document, e.g. "events.manages-event". */
  name: string;
  /** Who passes, in words, for the same listings. */
  description: string;
  /** True when the actor may act on what the input names. Must deny when it cannot tell. */
  allows(scope: PolicyScope, input: I): Promise<boolean>;
  /** What a denied caller sees: 403, or 404 where even the thing's existence must stay hidden. */
  denial?: "forbidden" | "not_found";
  /** Instead of denial: a refusal of its own that says why (a 409 naming the rule that was kept). */
  refusal?(input: I): ClubError;
  /** For a policy made with allOf: the parts, checked in order, the first to deny answering. */
  parts?: Policy<I>[];
}

/** An action's access: a capability, a policy for any signed-in member, or both. */
export type Access<I> =
  | { capability: Capability; policy?: Policy<I> }
  | { capability?: undefined; policy: Policy<I> };

/** Declares a policy; the identity function keeps the types. */
export function definePolicy<I>(policy: Policy<I>): Policy<I> {
  return policy;
}

/** A policy that passes when every part passes; the first part that denies gives its own answer. */
export function allOf<I>(...parts: Policy<I>[]): Policy<I> {
  return {
    name: parts.map((p) => p.name).join(" + "),
    description: parts.map((p) => p.description).join("; and "),
    allows: async (scope, input) => {
      for (const part of parts) if (!(await part.allows(scope, input))) return false;
      return true;
    },
    parts,
  };
}

/** The policy of actions a signed-in member takes on their own account (log in, log out, change one's
 * password): anyone who is a member passes; visitors, operators and the system do not. */
export const SIGNED_IN_MEMBER: Policy<unknown> = definePolicy({
  name: "signed-in-member",
  description: "any signed-in member, acting on their own account",
  allows: async ({ actor }) => actor.type === "member",
});

/** How access reads in listings: the capability (or "authenticated" when only a policy gates), and the
 * policy's name. */
export function describeAccess(access: Access<unknown>): {
  capability: Capability | "authenticated";
  policy?: string;
} {
  return access.policy
    ? { capability: access.capability ?? "authenticated", policy: access.policy.name }
    : { capability: access.capability! };
}

/** The check before any work: a visitor gets 401; a member without the capability gets 403. Throws. */
export function assertCapability(access: Access<unknown>, actor: Actor): void {
  if (actor.type === "anonymous") throw unauthenticated();
  if (access.capability && !actor.capabilities.has(access.capability)) throw forbidden(access.capability);
}

/** The object-level check, inside the caller's transaction. Throws the policy's denial. */
export async function assertPolicy<I>(access: Access<I>, scope: PolicyScope, input: I): Promise<void> {
  const { policy } = access;
  if (!policy) return;
  for (const part of policy.parts ?? [policy]) {
    if (await part.allows(scope, input)) continue;
    if (part.refusal) throw part.refusal(input);
    throw part.denial === "not_found" ? notFound() : forbidden(access.capability ?? part.name);
  }
}
