import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { runCli } from "../../src/app/cli.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor, systemActor } from "../../src/core/actor.ts";
import { runJob } from "../../src/core/scheduler.ts";
import { createEvent } from "../../src/domains/events/events.actions.ts";
import { reportBackupsFailing } from "../../src/domains/ops/backup.job.ts";
import { incidentWatchJob } from "../../src/domains/ops/incident-watch.job.ts";
import { closeIncident, openIncident } from "../../src/domains/ops/incidents.actions.ts";
import { setMode, setSwitch } from "../../src/domains/ops/mode.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { cliEnv } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { loggedIn } from "../helpers/identity.ts";

/** Runs a verb on the suite's runtime; returns its exit code and everything it printed. */
async function cli(runtime: Runtime, ...argv: string[]) {
  const { env, lines } = cliEnv(runtime);
  const code = await runCli(argv, env);
  return { code, out: lines.join("\n") };
}

/** Closes every open incident and puts the mode and switches back, so each test starts from normal. */
async function settle(runtime: Runtime): Promise<void> {
  const env = runtime.actionEnv(operatorActor("cleanup"));
  const open = await runtime.database.db
    .selectFrom("incidents")
    .select("id")
    .where("status", "=", "open")
    .execute();
  for (const i of open) await runAction(env, closeIncident, { incidentId: i.id, review: "test over" });
  await runAction(env, setMode, { mode: "normal", reason: "test over" });
  for (const name of ["publish_freeze", "admin_freeze", "preview_off"])
    await runAction(env, setSwitch, { name, on: false, reason: "test over" });
  await runtime.modes.refresh();
}

const entriesOf = (runtime: Runtime, incidentId: string) =>
  runtime.database.db
    .selectFrom("incident_entries")
    .selectAll()
    .where("incident_id", "=", incidentId)
    .orderBy("at")
    .execute();

const incidentByNumber = (runtime: Runtime, number: number) =>
  runtime.database.db
    .selectFrom("incidents")
    .selectAll()
    .where("number", "=", number)
    .executeTakeFirstOrThrow();

/** The messages in the outbox about one incident (its owner's notice). */
const mailAbout = (runtime: Runtime, incidentId: string) =>
  runtime.database.db
    .selectFrom("outbox")
    .select(["recipient", "subject", "body", "topic"])
    .where("topic", "=", "incident.opened")
    .where(sql<boolean>`payload->>'incidentId' = ${incidentId}`)
    .execute();

const numberIn = (out: string) => Number(/INC-(\d+)/.exec(out)?.[1]);

forEachEngine("incidents, owners and the decision log", (engine) => {
  const t = suiteApp(engine);
  const rt = () => t.get().runtime;

  test("[G04] an incident opens, takes notes and closes from the CLI; a SEV-1 closes only with its review", async () => {
    const opened = await cli(
      rt(),
      "incident",
      "open",
      "--severity",
      "SEV-1",
      "--title",
      "Members list leaked",
      "--area",
      "security",
      "--actor",
      "alice",
    );
    assert.equal(opened.code, 0, opened.out);
    const number = numberIn(opened.out);
    assert.ok(number > 0, opened.out);
    assert.equal(
      (await cli(rt(), "incident", "note", String(number), "--text", "Found on a forum", "--actor", "alice"))
        .code,
      0,
    );

    const refused = await cli(rt(), "incident", "close", `INC-${number}`, "--actor", "alice");
    assert.equal(refused.code, 2);
    assert.match(refused.out, /SEV-1: write its review.*\[incident_review_required\]/s);
    assert.equal((await incidentByNumber(rt(), number)).status, "open", "still open after the refusal");
    // The database refuses it too, whoever asks.
    await assert.rejects(
      sql`UPDATE incidents SET status = 'closed', closed_at = now(), closed_by = 'operator:mallory' WHERE number = ${number}`.execute(
        rt().database.db,
      ),
    );

    const list = await cli(rt(), "incident", "list", "--json");
    const listed = JSON.parse(list.out).find((i: { number: number }) => i.number === number);
    assert.equal(listed.status, "open");
    assert.equal(listed.severity, "SEV-1");

    const closed = await cli(
      rt(),
      "incident",
      "close",
      String(number),
      "--review",
      "Export link revoked; no data changed; follow-up: expiring links",
      "--actor",
      "bob",
    );
    assert.equal(closed.code, 0, closed.out);
    const row = await incidentByNumber(rt(), number);
    assert.equal(row.status, "closed");
    assert.equal(row.closed_by, "operator:bob");
    assert.match(row.review ?? "", /no data changed/);
    const shown = await cli(rt(), "incident", "show", String(number));
    assert.match(shown.out, /note by operator:alice: Found on a forum/);
    assert.match(shown.out, /review: Export link revoked/);
    const again = await cli(rt(), "incident", "note", String(number), "--text", "late", "--actor", "alice");
    assert.match(again.out, /already closed.*\[incident_closed\]/s);

    const audit = await rt()
      .database.db.selectFrom("audit_log")
      .select("action")
      .where("subject_type", "=", "incident")
      .where("subject_id", "=", row.id)
      .orderBy("seq")
      .execute();
    assert.deepEqual(
      audit.map((a) => a.action),
      ["incident.opened", "incident.noted", "incident.closed"],
      "each step is audited; the refused close left nothing",
    );
    assert.equal(
      (await cli(rt(), "incident", "show", "9999999")).code,
      2,
      "an unknown incident is not found",
    );
  });

  test("[G04] a full admin declares an incident and closes it through the forms; a SEV-1 form without review is refused", async () => {
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    const page = await client.get("/admin/incidents");
    assert.equal(page.status, 200);
    const form = (text: string) => text.match(/name="_form" value="([^"]*)"/)?.[1] ?? "";
    const declared = await client.postForm(
      "/admin/incidents",
      {
        severity: "SEV-1",
        title: "Events page wrong",
        area: "publishing",
        note: "saw it at 9",
        _form: form(page.text),
      },
      "/admin/incidents",
    );
    assert.equal(declared.status, 303);
    const location = declared.headers.get("location") ?? "";
    const id = /\/admin\/incidents\/([0-9a-f-]{36})/.exec(location)?.[1];
    assert.ok(id, location);
    const view = await client.get(`/admin/incidents/${id}`);
    assert.match(view.text, /Events page wrong/);
    assert.match(view.text, /saw it at 9/);
    const noReview = await client.postForm(
      `/admin/incidents/${id}/close`,
      { review: "" },
      `/admin/incidents/${id}`,
    );
    assert.equal(noReview.status, 422);
    assert.match(noReview.text, /write its review/);
    const ok = await client.postForm(
      `/admin/incidents/${id}/close`,
      { review: "Fixed the page; data intact" },
      `/admin/incidents/${id}`,
    );
    assert.equal(ok.status, 303);
    const row = await rt()
      .database.db.selectFrom("incidents")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, "closed");
    assert.match(row.opened_by, /^member:/);
    // A member without incidents:manage does not see the page.
    const { client: plain } = await loggedIn(t, ["member", "events_chair"]);
    assert.equal((await plain.get("/admin/incidents")).status, 403);
  });

  test("[G10] a full admin who declares an incident may stop all writes with it; leaving read-only stays an operator's", async () => {
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    try {
      const refused = await client.postForm(
        "/admin/system/mode",
        { mode: "read-only", reason: "x" },
        "/admin/incidents",
      );
      assert.equal(refused.status, 403, "a full admin does not operate the modes");
      const page = await client.get("/admin/incidents");
      const form = page.text.match(/name="_form" value="([^"]*)"/)?.[1] ?? "";
      const declared = await client.postForm(
        "/admin/incidents",
        { severity: "SEV-1", title: "Wrong member data spreading", stopWrites: "true", _form: form },
        "/admin/incidents",
      );
      assert.equal(declared.status, 303);
      const state = await rt().database.db.selectFrom("system_state").selectAll().executeTakeFirstOrThrow();
      assert.equal(state.mode, "read-only");
      assert.match(state.reason ?? "", /SEV-1\): Wrong member data spreading/);
      const id = /incidents\/([0-9a-f-]{36})/.exec(declared.headers.get("location") ?? "")?.[1] ?? "";
      const decisions = (await entriesOf(rt(), id)).filter((e) => e.kind === "decision");
      assert.deepEqual(
        decisions.map((d) => d.action),
        ["mode read-only"],
      );
      assert.match(decisions[0]?.actor ?? "", /^member:/);
      const audit = await rt()
        .database.db.selectFrom("audit_log")
        .select("action")
        .where("reason", "like", "%Wrong member data spreading%")
        .execute();
      assert.deepEqual(
        audit.map((a) => a.action),
        ["system.mode_changed"],
      );
    } finally {
      await settle(rt());
    }
  });

  test("[G04] a mode or switch change is a decision on the open incident; with none open the CLI and the page prompt to open one", async () => {
    const { client } = await loggedIn(t, ["member", "operator", "full_admin"]);
    const { code, out } = await cli(
      rt(),
      "incident",
      "open",
      "--severity",
      "SEV-2",
      "--title",
      "Slow admin pages",
      "--actor",
      "alice",
    );
    assert.equal(code, 0);
    const incident = await incidentByNumber(rt(), numberIn(out));
    try {
      const set = await cli(
        rt(),
        "mode",
        "set",
        "read-only",
        "--actor",
        "carol",
        "--reason",
        "stop writes while we look",
      );
      assert.equal(set.code, 0);
      assert.match(set.out, new RegExp(`Recorded as a decision on INC-${incident.number}`));
      const sw = await cli(
        rt(),
        "mode",
        "switch",
        "publish_freeze",
        "on",
        "--actor",
        "carol",
        "--reason",
        "freeze the site",
      );
      assert.match(sw.out, /Recorded as a decision/);
      const decisions = (await entriesOf(rt(), incident.id)).filter((e) => e.kind === "decision");
      assert.deepEqual(
        decisions.map((d) => [d.actor, d.action, d.text]),
        [
          ["operator:carol", "mode read-only", "stop writes while we look"],
          ["operator:carol", "publish_freeze on", "freeze the site"],
        ],
      );
      assert.match(
        (await client.get("/admin/system")).text,
        new RegExp(`recorded as a decision on.*INC-${incident.number}`, "s"),
      );
    } finally {
      await settle(rt());
    }
    const alone = await cli(
      rt(),
      "mode",
      "set",
      "read-only",
      "--actor",
      "carol",
      "--reason",
      "no incident yet",
    );
    try {
      assert.equal(alone.code, 0);
      assert.match(alone.out, /No incident is open.*clubos incident open --severity/s);
      const system = await client.get("/admin/system");
      assert.match(system.text, /No incident is open/);
      assert.match(system.text, /href="\/admin\/incidents">open an incident/);
      const after = await entriesOf(rt(), incident.id);
      assert.ok(!after.some((e) => e.text === "no incident yet"), "nothing goes on a closed incident");
    } finally {
      await settle(rt());
    }
  });

  test("[G10] an open SEV-1 shows a banner on every admin page, not on public ones, until it is closed", async () => {
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    const incident = await runAction(rt().actionEnv(operatorActor("alice")), openIncident, {
      severity: "SEV-1",
      title: "Audit chain broken",
    });
    await rt().modes.refresh();
    try {
      for (const path of ["/admin", "/admin/members", "/admin/audit", "/admin/incidents"]) {
        const page = await client.get(path);
        assert.equal(page.status, 200, path);
        assert.match(
          page.text,
          new RegExp(
            `class="alert-critical"[^>]*>Critical: SEV-1 incident INC-${incident.number} is open: Audit chain broken`,
          ),
          path,
        );
      }
      assert.doesNotMatch(
        (await client.get("/events")).text,
        /class="alert-critical"/,
        "not on the public pages",
      );
      // The banner is the alert row: without it, no banner.
      const row = await rt()
        .database.db.selectFrom("operator_alerts")
        .select("key")
        .where("key", "=", `ops.incident:${incident.id}`)
        .executeTakeFirst();
      assert.ok(row, "the SEV-1 raised its alert");
    } finally {
      await settle(rt());
    }
    assert.doesNotMatch((await client.get("/admin")).text, /class="alert-critical"/, "closing clears it");
  });

  test("[G10] degraded for over an hour with no incident open shows a prompt on admin pages (D-2); under an hour it does not", async () => {
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    const env = rt().actionEnv(operatorActor("dave"));
    await runAction(env, setMode, { mode: "read-only", reason: "disk almost full" });
    try {
      const state = await rt()
        .database.db.selectFrom("system_state")
        .select("degraded_since")
        .executeTakeFirstOrThrow();
      assert.ok(state.degraded_since, "the database noted when the degraded state began");
      const watch = async (ago: number) => {
        await sql`UPDATE system_state SET degraded_since = now() - make_interval(mins => ${ago})`.execute(
          rt().database.db,
        );
        const result = await runJob(rt(), incidentWatchJob);
        assert.equal(result.outcome, "ok", "the watch runs in read-only mode");
        await rt().modes.refresh();
        return (await client.get("/admin")).text;
      };
      assert.doesNotMatch(await watch(30), /no incident is open/, "half an hour is within the grace");
      const prompt = await watch(90);
      assert.match(
        prompt,
        /class="alert-critical"[^>]*>Critical: The site has been degraded \(read-only mode\).*over an hour, and no incident is open/s,
      );
      // Declaring the incident answers the prompt at once.
      await runAction(env, openIncident, { severity: "SEV-3", title: "Disk almost full" });
      await rt().modes.refresh();
      assert.doesNotMatch((await client.get("/admin")).text, /over an hour, and no incident is open/);
    } finally {
      await settle(rt());
    }
    const normal = await rt()
      .database.db.selectFrom("system_state")
      .select("degraded_since")
      .executeTakeFirstOrThrow();
    assert.equal(normal.degraded_since, null, "back to normal clears it");
  });

  test("[G10] an area without an owner shows a 'No owner' warning; naming one shows them, and an incident in the area goes to them by email", async () => {
    const { client } = await loggedIn(t, ["member", "full_admin"]);
    const before = await client.get("/admin/incidents");
    assert.equal((before.text.match(/No owner/g) ?? []).length >= 4, true, "each of the four areas says so");
    assert.match(before.text, /Warning: No owner for: data and backups, security, publishing, email/);
    const owner = await createMember(rt(), ["member"], "Olive Owner");
    const unknown = await cli(
      rt(),
      "incident",
      "owner",
      "--area",
      "data",
      "--member",
      "nobody@example.org",
      "--actor",
      "alice",
    );
    assert.match(unknown.out, /\[unknown_owner\]/);
    const named = await cli(
      rt(),
      "incident",
      "owner",
      "--area",
      "data",
      "--member",
      owner.email,
      "--actor",
      "alice",
    );
    assert.equal(named.code, 0, named.out);
    await rt().modes.refresh();
    const after = await client.get("/admin/incidents");
    assert.match(after.text, new RegExp(`<a href="/admin/members/${owner.memberId}">Olive Owner`));
    assert.match(after.text, /Warning: No owner for: security, publishing, email\./);
    const { out } = await cli(
      rt(),
      "incident",
      "open",
      "--severity",
      "SEV-3",
      "--title",
      "Backup slow",
      "--area",
      "data",
      "--actor",
      "alice",
    );
    const incident = await incidentByNumber(rt(), numberIn(out));
    try {
      const view = await client.get(`/admin/incidents/${incident.id}`);
      assert.match(view.text, /Goes to.*Olive Owner.*owner of data and backups/s);
      // And by email: one message to the owner, committed with the incident.
      const told = await mailAbout(rt(), incident.id);
      assert.equal(told.length, 1);
      assert.equal(told[0]!.recipient, owner.email);
      assert.match(
        told[0]!.subject ?? "",
        new RegExp(`^INC-${incident.number} \\(SEV-3\\) in data and backups: Backup slow$`),
      );
      assert.match(told[0]!.body ?? "", /^Hello Olive Owner\b/);
      assert.ok(
        told[0]!.body?.includes(`${rt().config.publicUrl}/admin/incidents/${incident.id}`),
        told[0]!.body ?? "",
      );
      const other = await runAction(rt().actionEnv(operatorActor("alice")), openIncident, {
        severity: "SEV-3",
        title: "Spam",
        area: "email",
      });
      assert.match((await client.get(`/admin/incidents/${other.id}`)).text, /No owner/);
      assert.deepEqual(await mailAbout(rt(), other.id), [], "an area without an owner sends nothing");
      // An incident a job opens goes to the owner too, once: the job's next finding is a note.
      const env = rt().actionEnv(systemActor("backup"));
      const first = await runAction(env, reportBackupsFailing, { why: "Two backups in a row failed." });
      const again = await runAction(env, reportBackupsFailing, { why: "And a third." });
      assert.equal(again.incident.id, first.incident.id);
      assert.equal(again.opened, false);
      const jobMail = await mailAbout(rt(), first.incident.id);
      assert.equal(jobMail.length, 1);
      assert.equal(jobMail[0]!.recipient, owner.email);
      assert.match(jobMail[0]!.subject ?? "", /\(SEV-1\) in data and backups: Backups are failing$/);
      const audit = await rt()
        .database.db.selectFrom("audit_log")
        .select("action")
        .where("action", "=", "incident.owner_set")
        .execute();
      assert.equal(audit.length, 1, "naming an owner is audited");
    } finally {
      await settle(rt());
    }
  });

  test("[G13] the audit log names people, members, events and incidents with links to their pages", async () => {
    const { client, member } = await loggedIn(t, ["member", "full_admin"]);
    const created = await createMember(rt(), ["member"], "Named Subject");
    const start = new Date(Date.now() + 86_400_000);
    const event = await runAction(rt().actionEnv(systemActor("test")), createEvent, {
      title: "Quiz night",
      description: "",
      location: "Hall",
      startsAt: start.toISOString(),
      endsAt: new Date(start.getTime() + 3_600_000).toISOString(),
      capacity: 10,
      audience: "members",
      status: "draft",
    });
    const page = await client.get("/admin/incidents");
    const form = page.text.match(/name="_form" value="([^"]*)"/)?.[1] ?? "";
    const declared = await client.postForm(
      "/admin/incidents",
      { severity: "SEV-3", title: "Printer on fire", _form: form },
      "/admin/incidents",
    );
    const incidentId = /incidents\/([0-9a-f-]{36})/.exec(declared.headers.get("location") ?? "")?.[1];
    try {
      const log = await client.get("/admin/audit");
      assert.equal(log.status, 200);
      const me = await rt()
        .database.db.selectFrom("members")
        .select("name")
        .where("id", "=", member.memberId)
        .executeTakeFirstOrThrow();
      assert.match(
        log.text,
        new RegExp(`<a href="/admin/members/${member.memberId}">${me.name}</a>`),
        "the actor by name",
      );
      assert.match(
        log.text,
        new RegExp(`member <a href="/admin/members/${created.memberId}">Named Subject`),
        "a member subject",
      );
      assert.match(
        log.text,
        new RegExp(`event <a href="/admin/events/${event.id}">Quiz night</a>`),
        "an event subject",
      );
      assert.match(
        log.text,
        new RegExp(`incident <a href="/admin/incidents/${incidentId}">INC-\\d+ Printer on fire</a>`),
        "an incident",
      );
      assert.match(log.text, /system:test/, "system actors stay as they are");
    } finally {
      await settle(rt());
    }
  });
});
