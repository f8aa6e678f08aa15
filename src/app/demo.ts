import { runAction } from "../core/action.ts";
import { systemActor } from "../core/actor.ts";
import { createEvent } from "../domains/events/events.actions.ts";
import { bootstrapAdmin, grantRole } from "../domains/identity/identity.actions.ts";
import { createMemberRecord } from "../domains/members/member-create.actions.ts";
import { hasAnyMember } from "../domains/members/members.repository.ts";
import type { AppContext } from "./context.ts";
import { seedDemoPages } from "./demo-pages.ts";

const DEMO_MEMBERS = [
  { name: "Ada Lovelace", email: "ada@example.org", roles: ["member", "events_chair"] },
  { name: "Grace Hopper", email: "grace@example.org", roles: ["member", "membership_chair"] },
  { name: "Tim Berners-Lee", email: "tim@example.org", roles: ["member", "web_editor"] },
  { name: "Katherine Johnson", email: "katherine@example.org", roles: ["member"] },
  { name: "Alan Turing", email: "alan@example.org", roles: ["member"] },
];

/** Seeds a small demo club the first time (no members yet): a handful of members with the built-in
 * roles and one administrator whose one-time password is returned to be printed once. */
export async function seedDemoClub(
  ctx: AppContext,
): Promise<{ adminEmail: string; password: string } | null> {
  if (await hasAnyMember(ctx.database.db)) return null;
  const env = ctx.actionEnv(systemActor("demo-seed"));
  const admin = await runAction(env, bootstrapAdmin, {
    email: "admin@example.org",
    name: "Demo Administrator",
    reason: "demo club seeded at first start",
  });
  await runAction(env, grantRole, {
    memberId: admin.memberId,
    roleKey: "operator",
    reason: "demo administrator also operates the demo",
  });
  for (const m of DEMO_MEMBERS) {
    const member = await runAction(env, createMemberRecord, { name: m.name, email: m.email });
    for (const role of m.roles) {
      await runAction(env, grantRole, { memberId: member.id, roleKey: role, reason: "demo club" });
    }
  }
  const day = 86_400_000;
  const at = (days: number, hour: number) =>
    new Date(Math.floor(Date.now() / day + days) * day + hour * 3_600_000).toISOString();
  await runAction(env, createEvent, {
    title: "Open evening",
    description: "Come and meet the club. Everyone is welcome.",
    location: "Club house",
    startsAt: at(7, 18),
    endsAt: at(7, 20),
    capacity: 30,
    audience: "public",
    status: "published",
  });
  await runAction(env, createEvent, {
    title: "Members' annual dinner",
    description: "Our yearly dinner for members and their guests.",
    location: "The Old Mill",
    startsAt: at(21, 19),
    endsAt: at(21, 23),
    capacity: 4,
    audience: "members",
    status: "published",
  });
  await seedDemoPages(env, ctx.config.timeZone);
  return { adminEmail: "admin@example.org", password: admin.password };
}
