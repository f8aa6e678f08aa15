import type { Capability } from "./capabilities.ts";
import { CAPABILITIES } from "./capabilities.ts";

/** Who is acting. Every write names one (G13): a signed-in member, a named operator at the CLI,
 * or the system itself for scheduled work. */
export type Actor =
  | { type: "member"; memberId: string; name: string; capabilities: ReadonlySet<Capability> }
  | { type: "operator"; name: string; capabilities: ReadonlySet<Capability> }
  | { type: "system"; name: string; capabilities: ReadonlySet<Capability> }
  | { type: "anonymous"; capabilities: ReadonlySet<Capability> };

const ALL = new Set(Object.keys(CAPABILITIES) as Capability[]);

/** An operator at the shell of the machine: already in full control of it, so holds every capability,
 * but must still say who they are (`--actor`). */
export function operatorActor(name: string): Actor {
  const trimmed = name.trim();
  if (!trimmed) throw new Error("An operator name is required (--actor NAME): every change is attributed.");
  return { type: "operator", name: trimmed, capabilities: ALL };
}

/** The system itself, for scheduled jobs and the demo seed. */
export function systemActor(name: string): Actor {
  return { type: "system", name, capabilities: ALL };
}

/** Nobody signed in. */
export const anonymousActor: Actor = { type: "anonymous", capabilities: new Set() };

/** The string stored in audit entries and granted_by columns, e.g. `member:<uuid>`. */
export function actorRef(actor: Actor): string {
  switch (actor.type) {
    case "member":
      return `member:${actor.memberId}`;
    case "operator":
      return `operator:${actor.name}`;
    case "system":
      return `system:${actor.name}`;
    case "anonymous":
      return "anonymous";
  }
}
