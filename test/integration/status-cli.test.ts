import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { runCli } from "../../src/app/cli.ts";
import { listBackups } from "../../src/core/backup/index.ts";
import { suiteApp } from "../helpers/app.ts";
import { cliEnv } from "../helpers/audit.ts";
import { seedClub } from "../helpers/backup.ts";
import { forEachEngine } from "../helpers/engines.ts";

forEachEngine("clubos status", (engine) => {
  const t = suiteApp(engine);
  const run = async (...args: string[]) => {
    const cli = cliEnv(t.get().runtime);
    const code = await runCli(args, cli.env);
    return { code, text: cli.lines.join("\n") };
  };

  test("on a new club it says what is missing: no backup, no drill, no key, no scan", async () => {
    const { code, text } = await run("status");
    assert.equal(code, 0, text);
    assert.match(text, /^mode: normal$/m);
    assert.match(text, /^open incidents: 0$/m);
    assert.match(text, /^WARNING: Backups are NOT encrypted/m);
    assert.match(text, /^last good backup: NONE \(0 backups\)/m);
    assert.match(text, /^last drill: NONE: no backup is trusted/m);
    assert.match(text, /^mail: not configured, breaker /m);
    assert.match(
      text,
      engine === "pglite" ? /^WAL archiving: not applicable \(embedded database/m : /^WAL archiving: /m,
    );
    assert.match(text, /^invariant scan: never run/m);
  });

  test("after a backup, a scan, an incident and read-only mode, it shows each, read as the pages and /readyz read them", async () => {
    const { runtime, baseUrl, config } = t.get();
    await seedClub(runtime);
    assert.equal((await run("backup", "create", "--actor", "alice")).code, 0);
    assert.equal((await run("invariants", "check")).code, 0);
    const opened = await run(
      "incident",
      "open",
      "--severity",
      "SEV-2",
      "--title",
      "Status test",
      "--read-only",
      "--actor",
      "alice",
    );
    assert.equal(opened.code, 0, opened.text);

    const { code, text } = await run("status");
    assert.equal(code, 0, text);
    const [backup] = listBackups(config.backupDir);
    assert.match(text, /^mode: read-only \(/m);
    assert.match(text, /^open incidents: 1\n {2}INC-\d+ SEV-2 Status test$/m);
    assert.match(text, new RegExp(`^last good backup: ${backup!.id}, \\d+ s old \\(1 backups\\)$`, "m"));
    assert.match(text, /^invariant scan: clean \(/m);

    const json = JSON.parse((await run("status", "--json")).text);
    assert.equal(json.state.mode, "read-only");
    assert.equal(json.backups.lastGood.id, backup!.id);
    assert.equal(json.backups.lastDrill, null);
    assert.equal(json.invariants.ok, true);
    assert.deepEqual(
      json.incidents.map((i: { title: string }) => i.title),
      ["Status test"],
    );
    // One definition of the mail dependency's state: /readyz and `clubos status` agree.
    const ready = await (await fetch(`${baseUrl}/readyz`)).json();
    assert.equal(json.mail.status, ready.degraded.mail.status);
    assert.equal(json.mail.breaker, ready.degraded.mail.breaker);

    // The drill of that backup is the last drill, and it passed.
    assert.equal((await run("backup", "drill", backup!.id, "--actor", "alice")).code, 0);
    const drilled = JSON.parse((await run("status", "--json")).text);
    assert.equal(drilled.backups.lastDrill.id, backup!.id);
    assert.equal(drilled.backups.lastDrill.ok, true);
  });

  test("[G01] a backup whose copy failed is recorded as failed by `backup create`, and is not the last good backup", async () => {
    const { runtime, config } = t.get();
    const before = JSON.parse((await run("status", "--json")).text).backups.lastGood.id;
    // A copy folder that cannot be made: a file stands where it should be.
    const blocked = path.join(path.dirname(config.backupDir), "copy-in-the-way");
    fs.writeFileSync(blocked, "in the way");
    const cli = cliEnv(runtime);
    const broken = Object.assign(Object.create(runtime), { config: { ...config, backupCopyDir: blocked } });
    const code = await runCli(["backup", "create", "--actor", "alice"], {
      ...cli.env,
      withRuntime: (fn) => fn(broken),
    });
    assert.equal(code, 1, cli.lines.join("\n"));
    assert.match(cli.lines.join("\n"), /COPY FAILED/);
    const [made] = listBackups(config.backupDir);
    assert.notEqual(made!.id, before, "the bundle itself was kept");
    const entry = await runtime.database.db
      .selectFrom("audit_log")
      .select(["subject_id", "after"])
      .where("action", "=", "backup.created")
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    assert.equal(entry.subject_id, made!.id);
    assert.equal((entry.after as { ok: boolean }).ok, false, "a failed copy is a failed backup");
    const json = JSON.parse((await run("status", "--json")).text);
    assert.equal(json.backups.lastGood.id, before, "the last good backup is still the earlier one");
  });
});
