/* bench:pages' club: the demo club (as a first start creates it) plus a season of events with Markdown
 * descriptions and a few registrations, and one member with a password for the signed-in pages. */
import { seedDemoClub } from "../../src/app/demo.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { type Actor, systemActor } from "../../src/core/actor.ts";
import { capabilitiesOf } from "../../src/core/capabilities.ts";
import { createEvent, registerForEvent } from "../../src/domains/events/events.actions.ts";
import { createAccount, grantRole } from "../../src/domains/identity/identity.actions.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";

const DESCRIPTION = (n: number) => `A **club evening** for everyone, number ${n} of the season.

What to expect:

- a short welcome from the committee
- time to meet other members and visitors
- tea, coffee and *home-made* cake

Bring a friend. Directions and parking are on [our website](https://example.org/directions); questions
to [the events chair](mailto:events@example.org).`;

/** What the bench requests: the event whose page it loads, and who signs in to see it as a member. */
export interface BenchClub {
  eventId: string;
  member: { email: string; password: string };
}

const memberActor = (memberId: string, name: string): Actor => ({
  type: "member",
  memberId,
  name,
  capabilities: new Set(capabilitiesOf(["member"])),
});

/** Seeds the club in a migrated database; the measured event has registrations, one of them the
 * signed-in member's, so their page shows their place and the cancel form. */
export async function seedBenchClub(runtime: Runtime, extraEvents: number): Promise<BenchClub> {
  const env = runtime.actionEnv(systemActor("bench"));
  await seedDemoClub(runtime);
  const day = 86_400_000;
  const at = (days: number, hour: number) =>
    new Date(Math.floor(Date.now() / day + days) * day + hour * 3_600_000).toISOString();
  const events = [];
  for (let i = 0; i < extraEvents; i++) {
    events.push(
      await runAction(env, createEvent, {
        title: `Club evening ${i + 1}`,
        description: DESCRIPTION(i + 1),
        location: i % 2 ? "Club house" : "The Old Mill, Upper Room",
        startsAt: at(3 + i * 3, 19),
        endsAt: at(3 + i * 3, 21),
        capacity: 30,
        audience: i % 3 === 2 ? "members" : "public",
        status: "published",
      }),
    );
  }
  const target =
    events[0] ?? (await runtime.database.db.selectFrom("events").selectAll().executeTakeFirstOrThrow());
  const email = "bench.member@example.org";
  const password = "correct horse battery bench";
  const member = await runAction(env, createMemberRecord, { name: "Bench Member", email });
  await runAction(env, createAccount, { memberId: member.id, password });
  await runAction(env, grantRole, { memberId: member.id, roleKey: "member", reason: "bench" });
  const demo = await runtime.database.db
    .selectFrom("members")
    .select(["id", "name"])
    .where("email", "like", "%@example.org")
    .where("email", "<>", "admin@example.org")
    .execute();
  for (const [i, m] of demo.entries()) {
    await runAction(runtime.actionEnv(memberActor(m.id, m.name)), registerForEvent, {
      eventId: target.id,
      guestNames: i % 2 ? [`Guest of ${m.name}`] : [],
      timeZone: runtime.config.timeZone,
    });
  }
  return { eventId: target.id, member: { email, password } };
}
