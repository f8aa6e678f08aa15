import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor, systemActor } from "../../src/core/actor.ts";
import type { RoleKey } from "../../src/core/capabilities.ts";
import { createEvent, type EventInput } from "../../src/domains/events/events.actions.ts";
import { createApiToken, grantRole } from "../../src/domains/identity/identity.actions.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { bearerJson } from "./http.ts";

let serial = 0;

/** A member who calls the JSON API with a bearer token (no password hashing, so hundreds are cheap). */
export async function tokenMember(
  runtime: Runtime,
  roles: RoleKey[] = ["member"],
): Promise<{ memberId: string; name: string; email: string; token: string }> {
  serial++;
  const email = `api${serial}-${process.pid}-${Date.now()}@example.org`;
  const env = runtime.actionEnv(systemActor("test"));
  const name = `Api Member ${serial}`;
  const member = await runAction(env, createMemberRecord, { name, email });
  for (const role of roles)
    await runAction(env, grantRole, { memberId: member.id, roleKey: role, reason: "test" });
  const token = await runAction(runtime.actionEnv(operatorActor("test")), createApiToken, {
    memberEmail: email,
    name: "test",
  });
  return { memberId: member.id, name, email, token: token.secret };
}

/** A published event starting tomorrow. */
export async function publishedEvent(runtime: Runtime, overrides: Partial<EventInput> = {}) {
  const start = new Date(Date.now() + 86_400_000);
  return runAction(runtime.actionEnv(systemActor("test")), createEvent, {
    title: "Club night",
    startsAt: start.toISOString(),
    endsAt: new Date(start.getTime() + 7_200_000).toISOString(),
    capacity: 10,
    audience: "members",
    status: "published",
    ...overrides,
  });
}

/** POSTs JSON with a bearer token. */
export function apiPost(
  baseUrl: string,
  token: string,
  path: string,
  body: unknown = {},
  headers: Record<string, string> = {},
) {
  return bearerJson(baseUrl, token, "POST", path, body, headers);
}
