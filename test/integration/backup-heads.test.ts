import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { runCli } from "../../src/app/cli.ts";
import { actorRef, operatorActor } from "../../src/core/actor.ts";
import { anchorFile } from "../../src/core/audit-anchors.ts";
import { anchorAuditChain } from "../../src/core/audit-chain.ts";
import { createBackup } from "../../src/core/backup/index.ts";
import { suiteApp } from "../helpers/app.ts";
import { cliEnv, tamperCommitted } from "../helpers/audit.ts";
import { seedClub } from "../helpers/backup.ts";
import { forEachEngine } from "../helpers/engines.ts";

// An attacker who holds the database and the backup folder's anchor file can rewrite both to agree.
// What they cannot rewrite is a manifest out of reach (the off-site copy): `clubos audit verify`
// reads the chain head every backup recorded and checks the chain still holds it.
forEachEngine("audit verify against the heads backups recorded", (engine) => {
  const t = suiteApp(engine);

  test("[G04] a rewrite with the anchor file rewritten to match passes without backups and fails against a backup's recorded head", async () => {
    const { runtime, config } = t.get();
    await seedClub(runtime);
    const made = await createBackup(runtime.database, {
      backupDir: config.backupDir,
      actor: actorRef(operatorActor("heads-test")),
      appVersion: "test",
      key: null,
    });
    assert.ok(made.manifest.auditChain.head, "the manifest records the chain head");
    const verify = async () => {
      const cli = cliEnv(runtime);
      const code = await runCli(["audit", "verify"], cli.env);
      return { code, text: cli.lines.join("\n") };
    };
    assert.equal((await verify()).code, 0, "intact before the attack");

    await tamperCommitted(runtime.database, async (d) => {
      await sql`UPDATE audit_log SET reason = 'rewritten history' WHERE seq = 1`.execute(d.db);
      await sql`DELETE FROM audit_chain`.execute(d.db);
      await sql`SELECT clubos_audit_seal((SELECT max(seq) FROM audit_log))`.execute(d.db);
    });
    fs.rmSync(anchorFile(config.backupDir));
    await anchorAuditChain(runtime.database, config.backupDir);

    // Move the bundle away: the anchors alone now agree with the forged chain.
    const away = path.join(path.dirname(config.backupDir), "elsewhere");
    fs.mkdirSync(away);
    fs.renameSync(made.dir, path.join(away, made.id));
    const alone = await verify();
    assert.equal(alone.code, 0, `without a recorded head the forgery passes: ${alone.text}`);
    assert.match(alone.text, /Checked 0 recorded heads/);

    fs.renameSync(path.join(away, made.id), made.dir);
    const checked = await verify();
    assert.equal(checked.code, 1, checked.text);
    assert.match(checked.text, /Checked 1 recorded heads/);
    assert.match(checked.text, /recorded_head_mismatch/);
    assert.match(checked.text, new RegExp(`backup ${made.id}`));
  });
});
