import assert from "node:assert/strict";
import { test } from "node:test";
import { type CliEnv, runCli } from "../../src/app/cli.ts";
import type { Runtime } from "../../src/app/runtime.ts";
import { runAction } from "../../src/core/action.ts";
import { operatorActor } from "../../src/core/actor.ts";
import { ClubError } from "../../src/core/errors.ts";
import { applierFor, confirmImport, resumeImport } from "../../src/domains/members/import/apply.ts";
import { planMemberImport } from "../../src/domains/members/import/import.actions.ts";
import { STALL_MS } from "../../src/domains/members/import/import.repository.ts";
import { planImport } from "../../src/domains/members/import/plan.ts";
import { forgetAppliers, isApplyingHere } from "../../src/domains/members/import/progress.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { createMember, suiteApp } from "../helpers/app.ts";
import { forEachEngine } from "../helpers/engines.ts";
import { tokenMember } from "../helpers/events.ts";
import { bearerJson, Client } from "../helpers/http.ts";
import { ageImport } from "../helpers/imports.ts";

const ROWS = 300;

const csvOf = (stamp: string) =>
  `name,email\n${Array.from({ length: ROWS }, (_, i) => `Resumed ${i},r${i}-${stamp}@example.org`).join("\n")}\n`;

async function waitFor(what: string, check: () => Promise<boolean> | boolean, everyMs = 1) {
  const until = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const importRow = (runtime: Runtime, id: string) =>
  runtime.database.db.selectFrom("member_imports").selectAll().where("id", "=", id).executeTakeFirstOrThrow();

const membersOf = async (runtime: Runtime, stamp: string) =>
  (
    await runtime.database.db
      .selectFrom("members")
      .select("id")
      .where("email", "like", `r%-${stamp}@example.org`)
      .execute()
  ).length;

/** The audit entries the import's rows wrote: one per created member, with the line it came from. */
async function rowEntries(runtime: Runtime, importId: string) {
  const rows = await runtime.database.db
    .selectFrom("audit_log")
    .select(["action", "subject_id", "reason"])
    .where("reason", "like", `CSV import ${importId}, line %`)
    .execute();
  return {
    total: rows.length,
    created: rows.filter((r) => r.action === "member.created").length,
    members: new Set(rows.map((r) => r.subject_id)).size,
    lines: new Set(rows.map((r) => r.reason)).size,
  };
}

const summaries = async (runtime: Runtime, importId: string) =>
  (
    await runtime.database.db
      .selectFrom("audit_log")
      .select("id")
      .where("action", "=", "member_import.applied")
      .where("subject_id", "=", importId)
      .execute()
  ).length;

/** The import is applied, and every row of it exactly once: each member created once, with one audit
 * entry per row and one summary entry. */
async function assertAppliedOnce(runtime: Runtime, id: string, stamp: string) {
  const row = await importRow(runtime, id);
  assert.equal(row.status, "applied");
  assert.equal(row.rows_done, ROWS);
  assert.equal(await membersOf(runtime, stamp), ROWS);
  assert.deepEqual(
    await rowEntries(runtime, id),
    { total: ROWS, created: ROWS, members: ROWS, lines: ROWS },
    "one audit entry per created member, none twice",
  );
  assert.equal(await summaries(runtime, id), 1);
}

forEachEngine("member import resume", (engine) => {
  const t = suiteApp(engine);

  test("an import cut off by a restart shows its progress from the database and offers Resume; resumed, every row is applied exactly once", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await createMember(runtime, ["member", "membership_chair"]);
    const browser = new Client(baseUrl);
    await browser.login(chair.email, chair.password);
    const stamp = `${engine}-${Date.now()}`;
    const posted = await browser.postForm(
      "/admin/members/import",
      { csv: csvOf(stamp) },
      "/admin/members/import",
    );
    const page = posted.headers.get("location")!;
    const id = page.split("/").at(-1)!;
    const fileHash = (await browser.get(page)).text.match(/name="file_hash" value="([0-9a-f]{64})"/)?.[1];
    assert.ok(fileHash);
    assert.equal((await browser.postForm(`${page}/confirm`, { file_hash: fileHash }, page)).status, 303);

    // Cut the import off part-way: switching to read-only stops the applier between two rows, as a
    // restart would; then forget this process's in-memory state, as a restart does.
    await waitFor("some rows applied", async () => (await importRow(runtime, id)).rows_done >= 40);
    const operator = runtime.actionEnv(operatorActor("test"));
    await runAction(operator, setMode, { mode: "read-only", reason: "restart drill" });
    await waitFor("the applier to stop", () => !isApplyingHere(id));
    await runAction(operator, setMode, { mode: "normal", reason: "drill over" });
    await runtime.modes.refresh();
    forgetAppliers();

    const cut = await importRow(runtime, id);
    assert.equal(cut.status, "applying");
    assert.ok(cut.rows_done < ROWS, `the import was cut off (${cut.rows_done} rows done)`);
    assert.equal(await membersOf(runtime, stamp), cut.rows_done, "the recorded progress matches the members");
    assert.equal((await rowEntries(runtime, id)).created, cut.rows_done);

    // Just cut off, it looks like another server may still be applying it: no Resume yet, only a wait.
    const moving = await browser.get(page);
    assert.match(moving.text, /Another ClubOS server is applying this import/);
    assert.doesNotMatch(moving.text, new RegExp(`action="${page}/resume"`));
    assert.match(moving.text, /http-equiv="refresh"/);
    // A minute without movement: no server is on it, so the page offers Resume.
    await ageImport(runtime, id, STALL_MS + 5_000, { alsoUpdatedAt: true });
    const stopped = await browser.get(page);
    assert.match(stopped.text, new RegExp(`stopped after ${cut.rows_done} of ${ROWS} rows`));
    assert.match(stopped.text, /the server was restarted/);
    assert.match(stopped.text, new RegExp(`action="${page}/resume"`));
    assert.doesNotMatch(stopped.text, /http-equiv="refresh"/, "nothing is running, so nothing to wait for");

    assert.equal((await browser.postForm(`${page}/resume`, {}, page)).status, 303);
    let finished = "";
    await waitFor(
      "the resumed import to finish",
      async () => {
        finished = (await browser.get(page)).text;
        assert.doesNotMatch(finished, /The import stopped/);
        return /Import applied/.test(finished);
      },
      50,
    );
    assert.match(
      finished,
      new RegExp(`Done: ${ROWS} created, 0 updated, 0 unchanged, 0 not applied[^,]*, 0 failed`),
    );

    await assertAppliedOnce(runtime, id, stamp);

    const again = await browser.postForm(`${page}/resume`, {}, page);
    assert.equal(again.status, 303, "resuming an applied import only shows its result");
    assert.equal((await rowEntries(runtime, id)).total, ROWS);
  });

  test("a resume that takes over from an applier still running elsewhere stops it: no row is applied twice", async () => {
    const { runtime } = t.get();
    const actor = operatorActor("ops");
    const env = runtime.actionEnv(actor);
    const stamp = `${engine}-takeover-${Date.now()}`;
    const plan = await planImport(runtime.database.db, csvOf(stamp), "takeover.csv");
    const { importId: id } = await runAction(env, planMemberImport, { plan });
    let takeover: Promise<unknown> | undefined;
    // The first applier (another server, as far as the second can tell) is still going when, after its
    // first batch, a resume takes the import over.
    const first = confirmImport(applierFor(env), id, plan.fileHash, (done) => {
      if (done !== 100) return;
      forgetAppliers();
      takeover = resumeImport(applierFor(env), id);
    });
    await assert.rejects(
      first,
      (error: unknown) => error instanceof ClubError && error.code === "import_superseded",
    );
    const second = (await takeover) as Awaited<ReturnType<typeof resumeImport>>;
    assert.equal(second.replayed, false);
    assert.deepEqual(second.result.counts, {
      created: ROWS,
      updated: 0,
      unchanged: 0,
      conflict: 0,
      failed: 0,
    });
    assert.equal(second.result.rows.length, ROWS);
    await assertAppliedOnce(runtime, id, stamp);
  });

  test("the CLI resumes an operator's import that read-only mode cut off: every row applied exactly once", async () => {
    const { runtime, config } = t.get();
    const actor = operatorActor("ops-cli");
    const stamp = `${engine}-cli-${Date.now()}`;
    const plan = await planImport(runtime.database.db, csvOf(stamp), "cli.csv");
    const { importId: id } = await runAction(runtime.actionEnv(actor), planMemberImport, { plan });
    const operator = runtime.actionEnv(operatorActor("test"));
    let switched: Promise<unknown> | undefined;
    await assert.rejects(
      confirmImport(applierFor(runtime.actionEnv(actor)), id, plan.fileHash, (done) => {
        if (done === 100) switched = runAction(operator, setMode, { mode: "read-only", reason: "cut" });
      }),
      (error: unknown) => error instanceof ClubError && error.code === "read_only",
    );
    await switched;
    await runAction(operator, setMode, { mode: "normal", reason: "over" });
    forgetAppliers();
    const cut = await importRow(runtime, id);
    assert.ok(cut.rows_done >= 100 && cut.rows_done < ROWS, `cut off after ${cut.rows_done} rows`);

    const lines: string[] = [];
    const progress: string[] = [];
    const cli: CliEnv = {
      io: { out: (s) => lines.push(s), err: (s) => lines.push(s), progress: (s) => progress.push(s) },
      config,
      withRuntime: (fn) => fn(runtime),
    };
    const other = await runCli(["members", "resume", id, "--actor", "someone-else"], cli);
    assert.notEqual(other, 0, "only whoever started an import can resume it");
    assert.equal(await runCli(["members", "resume", id, "--actor", "ops-cli"], cli), 0, lines.join("\n"));
    assert.match(progress.at(-1)!, new RegExp(`Applied ${ROWS} of ${ROWS} rows: ${ROWS} created`));
    assert.match(lines.at(-1)!, new RegExp(`Import ${id} applied: ${ROWS} created, 0 updated`));
    await assertAppliedOnce(runtime, id, stamp);
    assert.equal(await runCli(["members", "resume", id, "--actor", "ops-cli"], cli), 0);
    assert.match(lines.join("\n"), /was already applied; nothing was changed/);
    await assertAppliedOnce(runtime, id, stamp);
  });

  test("only an import left applying can be resumed: a dry run is confirmed, not resumed; an applied one replays (API)", async () => {
    const { runtime, baseUrl } = t.get();
    const chair = await tokenMember(runtime, ["member", "membership_chair"]);
    const api = (method: string, path: string, body?: unknown) =>
      bearerJson(baseUrl, chair.token, method, path, body);
    const csv = `name,email\nApi Resumed,api-resumed-${engine}-${Date.now()}@example.org\n`;
    const dry = await api("POST", "/api/v1/members/import", { csv });
    assert.equal(dry.status, 201);
    const resume = `/api/v1/members/import/${dry.body.importId}/resume`;
    const early = await api("POST", resume);
    assert.equal(early.status, 409);
    assert.equal(early.body.error.code, "import_not_started");
    assert.equal((await importRow(runtime, dry.body.importId)).status, "planned");
    const applied = await api("POST", `/api/v1/members/import/${dry.body.importId}/confirm`, {
      fileHash: dry.body.fileHash,
    });
    assert.equal(applied.status, 200);
    const replay = await api("POST", resume);
    assert.equal(replay.status, 200);
    assert.equal(replay.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(replay.body.result, applied.body.result);
  });
});
