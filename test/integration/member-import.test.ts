import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor, systemActor } from "../../src/core/actor.ts";
import { parseCsv } from "../../src/domains/members/import/csv.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { changeMemberStatus, deleteMember } from "../../src/domains/members/members.actions.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { tokenMember } from "../helpers/events.ts";
import { Client } from "../helpers/http.ts";

type Row = {
  line: number;
  outcome: string;
  email: string;
  reason?: string;
  changes?: Record<string, string>;
};
type Plan = {
  importId: string;
  fileHash: string;
  counts: Record<string, number>;
  rows: Row[];
  ignoredColumns: string[];
};
type Result = { counts: Record<string, number>; rows: { line: number; outcome: string; message?: string }[] };

let serial = 0;
const unique = (name: string) => `${name}-${++serial}-${Date.now()}@example.org`;

async function call(baseUrl: string, token: string, method: string, url: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  let payload: BodyInit | undefined;
  if (typeof body === "string" || Buffer.isBuffer(body)) {
    headers["content-type"] = "text/csv; charset=utf-8";
    payload = typeof body === "string" ? body : new Blob([Uint8Array.from(body)]);
  } else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(baseUrl + url, { method, headers, body: payload });
  const text = await res.text();
  const json = res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined;
  return { status: res.status, headers: res.headers, text, json };
}

async function counts(runtime: Runtime) {
  const db = runtime.database.db;
  const n = async (table: "members" | "audit_log" | "member_status_history" | "member_imports") =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    members: await n("members"),
    audit: await n("audit_log"),
    history: await n("member_status_history"),
    imports: await n("member_imports"),
  };
}

const member = (runtime: Runtime, email: string) =>
  runtime.database.db
    .selectFrom("members")
    .selectAll()
    .select((eb) => [
      eb.cast<string>("joined_on", "text").as("joined"),
      eb.cast<string>("renewal_due_on", "text").as("renewal"),
    ])
    .where("email", "=", email)
    .executeTakeFirstOrThrow();

forEachEngine("member CSV import and export", (engine) => {
  const t = suiteApp(engine);
  let admin: { token: string; memberId: string };
  const dryRun = async (csv: string | Buffer) =>
    call(t.get().baseUrl, admin.token, "POST", "/api/v1/members/import", csv);
  const confirm = (plan: Plan, token = admin.token) =>
    call(t.get().baseUrl, token, "POST", `/api/v1/members/import/${plan.importId}/confirm`, {
      fileHash: plan.fileHash,
    });
  const seed = (name: string, email: string, status?: string) =>
    runAction(t.get().runtime.actionEnv(systemActor("test")), createMemberRecord, { name, email, status });

  test("setup: a membership chair with an API token", async () => {
    admin = await tokenMember(t.get().runtime, ["member", "membership_chair"]);
  });

  test("[G02] a dry run writes no member or history, only its plan and the entry saying it was made; confirm then applies exactly the plan; a re-run changes nothing (W-3)", async () => {
    const { runtime } = t.get();
    const existing = unique("old");
    const fresh = unique("new");
    await seed("Old Timer", existing);
    const csv = `name,email,phone,status,tier,joined_on,renewal_due_on,shoe size\r\nOld Timer,${existing},0123,lapsed,family,,,\r\nNew Person,${fresh},,pending,,2024-03-01,2025-03-01,44\r\n`;
    const before = await counts(runtime);
    const dry = await dryRun(csv);
    assert.equal(dry.status, 201, dry.text);
    const plan = dry.json as Plan;
    assert.deepEqual(
      plan.rows.map((r) => [r.line, r.outcome]),
      [
        [2, "update"],
        [3, "create"],
      ],
    );
    assert.deepEqual(plan.rows[0]!.changes, { phone: "0123", status: "lapsed", tierKey: "family" });
    assert.deepEqual(plan.ignoredColumns, ["shoe size"]);
    const afterDry = await counts(runtime);
    assert.deepEqual(
      { ...afterDry, imports: 0, audit: 0 },
      { ...before, imports: 0, audit: 0 },
      "the dry run changed no member or history",
    );
    assert.equal(afterDry.imports, before.imports + 1, "only the plan is stored");
    assert.equal(afterDry.audit, before.audit + 1, "with one entry saying who uploaded which file");
    const planned = await runtime.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "member_import.planned")
      .where("subject_id", "=", plan.importId)
      .executeTakeFirstOrThrow();
    assert.match(planned.actor_id, new RegExp(admin.memberId));
    assert.ok(!JSON.stringify(planned).includes(fresh), "the entry holds no row of the file");

    const applied = await confirm(plan);
    assert.equal(applied.status, 200, applied.text);
    assert.deepEqual(applied.json.result.counts, {
      created: 1,
      updated: 1,
      unchanged: 0,
      conflict: 0,
      failed: 0,
    });
    const old = await member(runtime, existing);
    assert.deepEqual([old.phone, old.status, old.tier_key], ["0123", "lapsed", "family"]);
    const made = await member(runtime, fresh);
    assert.deepEqual([made.name, made.status, made.joined], ["New Person", "pending", "2024-03-01"]);
    const after = await counts(runtime);
    assert.equal(after.members, before.members + 1);
    assert.equal(
      after.audit,
      before.audit + 5,
      "the dry run's and the confirm's entries, one per applied row and one summary entry",
    );
    assert.equal(after.history, before.history + 2, "the status change and the creation are in the history");
    const summary = await runtime.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "member_import.applied")
      .where("subject_id", "=", plan.importId)
      .executeTakeFirstOrThrow();
    assert.equal((summary.after as { counts: { created: number } }).counts.created, 1);
    assert.match(summary.actor_id, new RegExp(admin.memberId));
    const rowEntry = await runtime.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("subject_id", "=", old.id)
      .where("action", "=", "member.updated")
      .executeTakeFirstOrThrow();
    assert.match(rowEntry.reason ?? "", new RegExp(`CSV import ${plan.importId}, line 2`));

    const replay = await confirm(plan);
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(replay.json.result, applied.json.result);
    const again = (await dryRun(csv)).json as Plan;
    assert.deepEqual(
      again.counts,
      { create: 0, update: 0, unchanged: 2, reject: 0 },
      "the same file again changes nothing",
    );
    await confirm(again);
    const final = await counts(runtime);
    assert.equal(final.members, after.members);
    assert.equal(
      final.audit,
      after.audit + 3,
      "only the new import's own entries (dry run, confirm, summary): the replay wrote nothing",
    );
  });

  test("[G02] rejected rows are reported row by row and nothing of the file is imported", async () => {
    const { runtime } = t.get();
    const gone = unique("gone");
    const deleted = await seed("Gone Member", gone);
    await runAction(runtime.actionEnv(systemActor("test")), deleteMember, {
      memberId: deleted.id,
      reason: "left",
      timeZone: "UTC",
    });
    const pending = unique("pending");
    await seed("Waiting", pending, "pending");
    const ok = unique("ok");
    const dup = unique("dup");
    const csv = [
      "name,email,status,tier",
      `Fine,${ok},active,`,
      `One,${dup},,`,
      `Two,${dup.toUpperCase()},,`,
      `Odd,${unique("odd")},retired,`,
      `Tiered,${unique("tier")},,platinum`,
      ",,active,",
      "Bad,not-an-email,,",
      `Short,${unique("short")}`,
      `Quote,x"y@example.org,,`,
      `Back,${gone},,`,
      `Jump,${pending},lapsed,`,
    ].join("\n");
    const before = await counts(runtime);
    const plan = (await dryRun(csv)).json as Plan;
    const reasons = Object.fromEntries(plan.rows.map((r) => [r.line, r.reason ?? r.outcome]));
    assert.equal(reasons[2], "create");
    assert.match(reasons[3]!, /also on line 4/);
    assert.match(reasons[4]!, /also on line 3/);
    assert.match(reasons[5]!, /Unknown status "retired"/);
    assert.match(reasons[6]!, /Unknown tier "platinum"/);
    assert.match(reasons[7]!, /email is missing/);
    assert.match(reasons[8]!, /not an email address/);
    assert.match(reasons[9]!, /Malformed row: it has 2 fields/);
    assert.match(reasons[10]!, /Malformed row: a quote inside/);
    assert.match(reasons[11]!, /restore the member first/);
    assert.match(reasons[12]!, /pending cannot become lapsed/);
    const refused = await confirm(plan);
    assert.equal(refused.status, 422);
    assert.equal(refused.json.error.code, "import_has_rejections");
    const after = await counts(runtime);
    assert.deepEqual(
      { ...after, imports: 0, audit: 0 },
      { ...before, imports: 0, audit: 0 },
      "not even the valid row was imported",
    );
    assert.equal(after.audit, before.audit + 1, "only the dry run's entry: the refused confirm wrote none");
    assert.equal(
      (await runtime.database.db.selectFrom("members").select("id").where("email", "=", ok).execute()).length,
      0,
    );
  });

  test("[G02] a file that is not UTF-8, not CSV or has no header is refused as a whole; nothing is stored", async () => {
    const { runtime } = t.get();
    const before = await counts(runtime);
    const latin1 = Buffer.from(`name,email\nJos\xe9,${unique("jose")}\n`, "latin1");
    const wrong = await dryRun(latin1);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.error.code, "csv_invalid");
    assert.match(wrong.json.error.message, /Line 2: .*not valid UTF-8.*CSV UTF-8/);
    const noHeader = await dryRun(`Ann,${unique("ann")},active\n`);
    assert.match(noHeader.json.error.message, /no email column/);
    const open = await dryRun(`name,email\n"Ann,${unique("ann")}\n`);
    assert.match(open.json.error.message, /Line 2: A quoted field is never closed/);
    const binary = await dryRun(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]));
    assert.equal(binary.status, 400);
    assert.deepEqual(await counts(runtime), before);
  });

  test("a member edited between dry run and confirm is reported as a conflict and not overwritten (W-4)", async () => {
    const { runtime, baseUrl } = t.get();
    const edited = unique("edited");
    const other = unique("other");
    const subject = await seed("Edited Person", edited);
    const plan = (await dryRun(`email,phone\n${edited},111\n${other},\n`)).json as Plan;
    assert.equal(plan.rows[1]!.reason, "A new member needs a name.");
    const valid = (await dryRun(`name,email,phone\nEdited Person,${edited},111\nOther,${other},\n`))
      .json as Plan;
    const patch = await fetch(`${baseUrl}/api/v1/members/${subject.id}`, {
      method: "PATCH",
      headers: {
        authorization: `Bearer ${admin.token}`,
        "content-type": "application/json",
        "if-match": '"v1"',
      },
      body: JSON.stringify({ phone: "999" }),
    });
    assert.equal(patch.status, 200);
    const applied = await confirm(valid);
    assert.equal(applied.status, 200, applied.text);
    const rows = applied.json.result.rows as Result["rows"];
    assert.equal(rows[0]!.outcome, "conflict");
    assert.match(rows[0]!.message!, /changed after the dry run/);
    assert.equal(rows[1]!.outcome, "created");
    assert.equal((await member(runtime, edited)).phone, "999", "the later edit was kept");
  });

  test("[G04] an import cannot change a member who holds more than the membership chair: that row fails, the others apply", async () => {
    const { runtime } = t.get();
    const boss = await tokenMember(runtime, ["member", "full_admin"]);
    const plain = unique("plain");
    await seed("Plain Person", plain);
    const plan = (await dryRun(`name,email,phone\nBoss,${boss.email},555\nPlain Person,${plain},777\n`))
      .json as Plan;
    const applied = await confirm(plan);
    assert.equal(applied.status, 200, applied.text);
    const rows = applied.json.result.rows as Result["rows"];
    const bossRow = rows.find((r) => r.line === 2)!;
    assert.equal(bossRow.outcome, "failed");
    assert.match(bossRow.message!, /permissions you do not|holds more/i);
    assert.equal(rows.find((r) => r.line === 3)!.outcome, "updated");
    assert.equal((await member(runtime, boss.email)).phone, "", "the full administrator is unchanged");
    assert.equal((await member(runtime, plain)).phone, "777");
  });

  test("Wild Apricot's contact export columns and statuses map to ClubOS", async () => {
    const { runtime } = t.get();
    const [a, b, c] = [unique("wa"), unique("wa"), unique("wa")];
    const csv = `\uFEFFContact ID,First name,Last name,Email,Phone,Member since,Membership level,Membership status,Renewal due,Organization\r\n1,Ada,Lovelace,${a},+44 20 7946 0000,15 Jan 2020,Family,Pending - New,2026-01-15,Analytical\r\n2,Bob,"O'Brien, Jr",${b},,2019-05-01,standard,Lapsed,,\r\n3,Cy,Young,${c},,,,Pending - Renewal,,\r\n`;
    const res = await call(t.get().baseUrl, admin.token, "POST", "/api/v1/members/import", {
      csv,
      fileName: "wa.csv",
    });
    assert.equal(res.status, 201, "the JSON API takes the CSV as {csv}");
    const plan = res.json as Plan & { fileName: string };
    assert.equal(plan.fileName, "wa.csv");
    assert.deepEqual(plan.ignoredColumns, ["Contact ID", "Organization"]);
    assert.deepEqual(
      plan.rows.map((r) => r.outcome),
      ["create", "create", "create"],
    );
    await confirm(plan);
    const ada = await member(runtime, a);
    assert.deepEqual(
      [ada.name, ada.phone, ada.joined, ada.tier_key, ada.status, ada.renewal],
      ["Ada Lovelace", "+44 20 7946 0000", "2020-01-15", "family", "pending", "2026-01-15"],
    );
    assert.deepEqual(
      [(await member(runtime, b)).name, (await member(runtime, b)).status],
      ["Bob O'Brien, Jr", "lapsed"],
    );
    assert.equal((await member(runtime, c)).status, "active");
  });

  test("export: RFC 4180 quoting, formula protection, audited; it parses back and imports as unchanged", async () => {
    const { runtime, baseUrl } = t.get();
    const evil = unique("evil");
    const made = await seed("=cmd()", evil);
    await runtime.database.db
      .updateTable("members")
      .set({ address: 'Flat "A", 1 Road\nTown', phone: "+44 1" })
      .where("id", "=", made.id)
      .execute();
    const before = await counts(runtime);
    const res = await call(baseUrl, admin.token, "GET", "/api/v1/members/export.csv");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/csv/);
    assert.match(
      res.headers.get("content-disposition")!,
      /^attachment; filename="members-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    assert.ok(res.text.endsWith("\r\n") && !/[^\r]\n(?=[^"]*$)/.test(res.text.slice(-200)), "CRLF line ends");
    assert.ok(
      res.text.includes(`"Flat ""A"", 1 Road\nTown"`),
      "a field with quote, comma and newline is quoted",
    );
    const records = parseCsv(res.text).map((r) => r.fields);
    assert.deepEqual(records[0], [
      "name",
      "email",
      "phone",
      "address",
      "status",
      "tier",
      "joined_on",
      "renewal_due_on",
    ]);
    const row = records.find((r) => r[1] === evil)!;
    assert.deepEqual(row.slice(0, 4), ["'=cmd()", evil, "'+44 1", 'Flat "A", 1 Road\nTown']);
    const after = await counts(runtime);
    assert.equal(after.audit, before.audit + 1);
    const entry = await runtime.database.db
      .selectFrom("audit_log")
      .selectAll()
      .where("action", "=", "member.exported")
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    assert.equal((entry.after as { rows: number }).rows, records.length - 1);
    const reimport = (await dryRun(res.text)).json as Plan;
    assert.deepEqual(
      reimport.counts,
      { create: 0, update: 0, unchanged: records.length - 1, reject: 0 },
      "the export imports back unchanged",
    );
  });

  test("[G03] [G10] export is refused for a plain member (403); in read-only mode it is an audited read, served, while the dry run is refused (503)", async () => {
    const { runtime, baseUrl } = t.get();
    const plain = await tokenMember(runtime, ["member"]);
    const before = await counts(runtime);
    assert.equal((await call(baseUrl, plain.token, "GET", "/api/v1/members/export.csv")).status, 403);
    assert.equal(
      (await call(baseUrl, plain.token, "POST", "/api/v1/members/import", "email\nx@y.z\n")).status,
      403,
    );
    const env = runtime.actionEnv(operatorActor("test"));
    await runAction(env, setMode, { mode: "read-only", reason: "export drill" });
    try {
      await runtime.modes.refresh();
      const served = await call(baseUrl, admin.token, "GET", "/api/v1/members/export.csv");
      assert.equal(served.status, 200, "an audited read serves in read-only mode");
      assert.equal((await dryRun(`email\n${unique("ro")}\n`)).status, 503, "the dry run is an admin write");
      assert.equal((await counts(runtime)).audit, before.audit + 2, "the mode change and the export");
    } finally {
      await runAction(env, setMode, { mode: "normal", reason: "drill over" });
      await runtime.modes.refresh();
    }
  });

  test("the HTML flow: form, dry-run page with Confirm, result page; another admin cannot see the plan", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await createMember(runtime, ["member", "membership_chair"]);
    const browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    const list = await browser.get("/admin/members");
    assert.match(list.text, /href="\/admin\/members\/import"/);
    const email = unique("html");
    const bad = await browser.postForm(
      "/admin/members/import",
      { csv: "just text" },
      "/admin/members/import",
    );
    assert.equal(bad.status, 400);
    assert.match(bad.text, /no email column/);
    const posted = await browser.postForm(
      "/admin/members/import",
      { csv: `name,email\nHtml Person,${email}\n`, file_name: "x.csv" },
      "/admin/members/import",
    );
    assert.equal(posted.status, 303);
    const page = posted.headers.get("location")!;
    const shown = await browser.get(page);
    assert.match(shown.text, /data-outcome="create"/);
    const fileHash = shown.text.match(/name="file_hash" value="([0-9a-f]{64})"/)?.[1];
    assert.ok(fileHash);
    assert.equal(
      (await call(baseUrl, admin.token, "GET", `/api/v1${page.replace("/admin", "")}`)).status,
      404,
      "plans are their author's",
    );
    const done = await browser.postForm(`${page}/confirm`, { file_hash: fileHash }, page);
    assert.equal(done.status, 303);
    assert.match((await browser.get(page)).text, /Import applied[\s\S]*data-result="created"/);
    assert.equal((await member(runtime, email)).name, "Html Person");
  });

  test("the CLI: --dry-run writes nothing; an import reports progress every 100 rows; export writes the file", async () => {
    const { runtime, config } = t.get();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-import-"));
    const file = path.join(dir, "members.csv");
    fs.writeFileSync(
      file,
      `name,email\n${Array.from({ length: 250 }, (_, i) => `Bulk ${i},${unique(`bulk${i}`)}`).join("\n")}\n`,
    );
    const lines: string[] = [];
    const progress: string[] = [];
    const env: CliEnv = {
      io: { out: (s) => lines.push(s), err: (s) => lines.push(s), progress: (s) => progress.push(s) },
      config,
      withRuntime: (fn) => fn(runtime),
    };
    const before = await counts(runtime);
    assert.equal(
      await runCli(["members", "import", file, "--actor", "ops", "--dry-run"], env),
      0,
      lines.join("\n"),
    );
    assert.match(lines.join("\n"), /250 to create[\s\S]*Dry run: nothing was changed/);
    assert.deepEqual(await counts(runtime), before);
    assert.equal(await runCli(["members", "import", file, "--actor", "ops"], env), 0, lines.join("\n"));
    assert.deepEqual(
      progress.map((p) => p.match(/Applied (\d+) of 250/)?.[1]),
      ["100", "200", "250"],
    );
    assert.equal((await counts(runtime)).members, before.members + 250);
    const imported = await counts(runtime);
    assert.equal(await runCli(["members", "import", file, "--actor", "ops"], env), 0);
    assert.match(lines.at(-1)!, /Nothing to import/, "the same file again changes nothing");
    assert.deepEqual(await counts(runtime), imported);
    const out = path.join(dir, "export.csv");
    assert.equal(await runCli(["members", "export", "--actor", "ops", "--out", out], env), 0);
    const live = await runtime.database.db
      .selectFrom("members")
      .select("id")
      .where("deleted_at", "is", null)
      .execute();
    assert.equal(parseCsv(fs.readFileSync(out, "utf8")).length - 1, live.length);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600, "personal data is written for the owner only");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a status change allowed by the state machine is applied with the history reason", async () => {
    const { runtime } = t.get();
    const email = unique("lapse");
    const m = await seed("Lapsing", email);
    await runAction(runtime.actionEnv(systemActor("test")), changeMemberStatus, {
      memberId: m.id,
      status: "lapsed",
      reason: "test",
    });
    const plan = (await dryRun(`email,status\n${email},Active\n`)).json as Plan;
    assert.deepEqual(plan.rows[0]!.changes, { status: "active" });
    await confirm(plan);
    const history = await runtime.database.db
      .selectFrom("member_status_history")
      .selectAll()
      .where("member_id", "=", m.id)
      .orderBy("changed_at")
      .execute();
    assert.deepEqual(
      history.map((h) => h.to_status),
      ["active", "lapsed", "active"],
    );
    assert.match(history[2]!.reason, /CSV import/);
  });
});
