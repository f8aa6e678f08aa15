import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { runAction } from "../../src/core/action.ts";
import { type Actor, operatorActor } from "../../src/core/actor.ts";
import { capabilitiesOf, type RoleKey } from "../../src/core/capabilities.ts";
import { ClubError } from "../../src/core/errors.ts";
import { endRoleAssignment, grantRole } from "../../src/domains/identity/identity.actions.ts";
import { activeFullAdmins, activeRoleKeys } from "../../src/domains/identity/identity.repository.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { assertAuditAttributed, countRows, loggedIn, type Suite } from "../helpers/identity.ts";

/** A member actor with the capabilities of their current roles, loaded the way requests load them. */
async function actorFor(t: Suite, roles: RoleKey[]): Promise<{ actor: Actor; memberId: string }> {
  const { memberId } = await createMember(t.get().runtime, roles);
  const held = capabilitiesOf(await activeRoleKeys(t.get().runtime.database.db, memberId));
  return { memberId, actor: { type: "member", memberId, name: "Actor", capabilities: new Set(held) } };
}

const refusedWith = (code: string) => (error: unknown) => error instanceof ClubError && error.code === code;

const capsOf = async (client: { get(path: string): Promise<{ status: number; text: string }> }) => {
  const res = await client.get("/api/v1/me");
  assert.equal(res.status, 200);
  return JSON.parse(res.text).capabilities as string[];
};

forEachEngine("roles", (engine) => {
  const t = suiteApp(engine);
  const env = (actor: Actor) => t.get().runtime.actionEnv(actor);
  const db = () => t.get().runtime.database.db;

  test("[G04][G13] granting a role writes exactly one role.granted entry, in the grant's own transaction", async () => {
    const admin = await actorFor(t, ["member", "full_admin"]);
    const target = await createMember(t.get().runtime, ["member"]);
    const row = await runAction(env(admin.actor), grantRole, {
      memberId: target.memberId,
      roleKey: "events_chair",
      reason: "runs the spring fair",
    });
    assert.equal(row.granted_by, `member:${admin.memberId}`);
    const entries = await db().selectFrom("audit_log").selectAll().where("subject_id", "=", row.id).execute();
    assert.equal(entries.length, 1);
    const [entry] = entries;
    assert.equal(entry!.action, "role.granted");
    assert.equal(entry!.actor_type, "member");
    assert.equal(entry!.actor_id, `member:${admin.memberId}`);
    assert.equal(entry!.subject_type, "role_assignment");
    assert.equal(entry!.reason, "runs the spring fair");
    assert.equal((entry!.after as { memberId: string }).memberId, target.memberId);
    // If the audit entry cannot be written, the grant does not happen either: one transaction.
    await sql`ALTER TABLE audit_log ADD CONSTRAINT test_no_grants CHECK (action <> 'role.granted') NOT VALID`.execute(
      db(),
    );
    try {
      await assert.rejects(
        runAction(env(admin.actor), grantRole, {
          memberId: target.memberId,
          roleKey: "web_editor",
          reason: "x",
        }),
        /test_no_grants/,
      );
    } finally {
      await sql`ALTER TABLE audit_log DROP CONSTRAINT test_no_grants`.execute(db());
    }
    assert.deepEqual(await activeRoleKeys(db(), target.memberId), ["events_chair", "member"]);
  });

  test("[G04] a member with roles:grant cannot grant a role carrying capabilities they lack", async () => {
    const admin = await actorFor(t, ["member", "full_admin"]);
    assert.ok(admin.actor.capabilities.has("roles:grant") && !admin.actor.capabilities.has("system:operate"));
    const target = await createMember(t.get().runtime, ["member"]);
    const [assignments, audit] = [await countRows(t, "role_assignments"), await countRows(t, "audit_log")];
    await assert.rejects(
      runAction(env(admin.actor), grantRole, {
        memberId: target.memberId,
        roleKey: "operator",
        reason: "try",
      }),
      refusedWith("grant_exceeds_own"),
    );
    assert.equal(await countRows(t, "role_assignments"), assignments);
    assert.equal(await countRows(t, "audit_log"), audit);
  });

  test("[G03] a member without roles:grant cannot grant or end roles", async () => {
    const chair = await actorFor(t, ["member", "events_chair"]);
    const target = await createMember(t.get().runtime, ["member"]);
    const [assignments, audit] = [await countRows(t, "role_assignments"), await countRows(t, "audit_log")];
    await assert.rejects(
      runAction(env(chair.actor), grantRole, { memberId: target.memberId, roleKey: "member", reason: "try" }),
      refusedWith("forbidden"),
    );
    const [own] = await db()
      .selectFrom("role_assignments")
      .select("id")
      .where("member_id", "=", target.memberId)
      .execute();
    await assert.rejects(
      runAction(env(chair.actor), endRoleAssignment, { assignmentId: own!.id, reason: "try" }),
      refusedWith("forbidden"),
    );
    assert.equal(await countRows(t, "role_assignments"), assignments);
    assert.equal(await countRows(t, "audit_log"), audit);
  });

  test("[G04] ending a role assignment removes its capabilities on the next request and writes role.ended", async () => {
    const admin = await actorFor(t, ["member", "full_admin"]);
    const { member, client } = await loggedIn(t, ["member"]);
    const grant = await runAction(env(admin.actor), grantRole, {
      memberId: member.memberId,
      roleKey: "events_chair",
      reason: "fair season",
    });
    assert.ok((await capsOf(client)).includes("events:manage"), "the grant applies at once too");
    assert.equal((await client.get("/admin")).status, 200);
    await runAction(env(admin.actor), endRoleAssignment, { assignmentId: grant.id, reason: "season over" });
    assert.deepEqual(await capsOf(client), capabilitiesOf(["member"]));
    assert.equal((await client.get("/admin")).status, 403);
    const ended = await db()
      .selectFrom("audit_log")
      .selectAll()
      .where("subject_id", "=", grant.id)
      .where("action", "=", "role.ended")
      .execute();
    assert.equal(ended.length, 1);
    assert.equal(ended[0]!.actor_id, `member:${admin.memberId}`);
    assert.equal(ended[0]!.reason, "season over");
  });

  test("[G03] assignments that have not started or have already ended give no capabilities", async () => {
    const { member, client } = await loggedIn(t, ["member"]);
    const day = 24 * 3600_000;
    const operator = env(operatorActor("test"));
    const base = { memberId: member.memberId, reason: "test" };
    await runAction(operator, grantRole, {
      ...base,
      roleKey: "events_chair",
      startsAt: new Date(Date.now() + day),
    });
    await runAction(operator, grantRole, {
      ...base,
      roleKey: "full_admin",
      startsAt: new Date(Date.now() - 2 * day),
      endsAt: new Date(Date.now() - day),
    });
    const rows = await db()
      .selectFrom("role_assignments")
      .select("id")
      .where("member_id", "=", member.memberId)
      .execute();
    assert.equal(rows.length, 3, "the assignments exist");
    assert.deepEqual(await capsOf(client), capabilitiesOf(["member"]));
    assert.equal((await client.get("/admin")).status, 403);
  });

  test("[G03] the same roles always give the same sorted capability list", async () => {
    const a = await loggedIn(t, ["member", "web_editor", "events_chair"]);
    const b = await loggedIn(t, ["events_chair", "member", "web_editor"]);
    const [capsA, capsB] = [await capsOf(a.client), await capsOf(b.client)];
    assert.deepEqual(capsA, capsB);
    assert.deepEqual(capsA, [...capsA].sort());
    assert.deepEqual(capsA, capabilitiesOf(["web_editor", "events_chair", "member"]));
  });

  test("[G03] if roles cannot be loaded, an administrator is denied with permissions_unavailable", async () => {
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    assert.equal((await client.get("/admin")).status, 200);
    await sql`ALTER TABLE role_assignments RENAME TO role_assignments_gone`.execute(db());
    // The roles read with the session are kept under the access version (authenticate.ts); a rename
    // changes no row, so a change of access, as any grant or status change makes, has them read again.
    await sql`UPDATE content_versions SET version = gen_random_uuid() WHERE name = 'access'`.execute(db());
    try {
      const page = await client.get("/admin");
      assert.equal(page.status, 403);
      assert.match(page.text, /permissions cannot be checked/);
      const api = await client.get("/api/v1/system/state");
      assert.equal(api.status, 403);
      assert.equal(JSON.parse(api.text).error.code, "permissions_unavailable");
    } finally {
      await sql`ALTER TABLE role_assignments_gone RENAME TO role_assignments`.execute(db());
    }
    assert.equal((await client.get("/admin")).status, 200, "access returns with the roles");
  });

  test("[G13] every audit entry written in this suite names its actor", async () => {
    await assertAuditAttributed(t);
  });
});

forEachEngine("the last full administrator", (engine) => {
  const t = suiteApp(engine);
  const operator = () => t.get().runtime.actionEnv(operatorActor("test"));
  const db = () => t.get().runtime.database.db;
  const fullAdminAssignment = async (memberId: string) =>
    (
      await db()
        .selectFrom("role_assignments")
        .select("id")
        .where("member_id", "=", memberId)
        .where("role_key", "=", "full_admin")
        .where("ended_by", "is", null)
        .executeTakeFirstOrThrow()
    ).id;

  test("[G03] ending the last active full administrator's full_admin role is refused with 409 last_full_admin", async () => {
    const only = await createMember(t.get().runtime, ["member", "full_admin"]);
    assert.deepEqual(await activeFullAdmins(db()), [only.memberId], "the club has one full administrator");
    const assignmentId = await fullAdminAssignment(only.memberId);
    const audit = await countRows(t, "audit_log");
    await assert.rejects(
      runAction(operator(), endRoleAssignment, { assignmentId, reason: "tidying up" }),
      (error: unknown) => {
        assert.ok(error instanceof ClubError);
        assert.equal(error.code, "last_full_admin");
        assert.equal(error.status, 409);
        assert.match(error.message, /last active full administrator/);
        return true;
      },
    );
    assert.deepEqual(await activeFullAdmins(db()), [only.memberId], "they are still a full administrator");
    assert.equal(await countRows(t, "audit_log"), audit, "nothing was written");

    // The policy is what keeps one: the same action without it ends the role and locks the club out.
    const unguarded = { ...endRoleAssignment, access: { capability: "roles:grant" as const } };
    await runAction(operator(), unguarded, { assignmentId, reason: "without the policy" });
    assert.deepEqual(await activeFullAdmins(db()), [], "no full administrator is left");
    await runAction(operator(), grantRole, {
      memberId: only.memberId,
      roleKey: "full_admin",
      reason: "restored after the demonstration",
    });

    // With a second full administrator, the first one's role may end.
    const second = await createMember(t.get().runtime, ["member", "full_admin"]);
    await runAction(operator(), endRoleAssignment, {
      assignmentId: await fullAdminAssignment(only.memberId),
      reason: "stepped down",
    });
    assert.deepEqual(await activeFullAdmins(db()), [second.memberId]);
    await assert.rejects(
      runAction(operator(), endRoleAssignment, {
        assignmentId: await fullAdminAssignment(second.memberId),
        reason: "and the other one too",
      }),
      refusedWith("last_full_admin"),
    );
  });
});
