import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { takeBackup } from "../../src/app/backup-env.ts";
import { openRuntime } from "../../src/app/runtime.ts";
import { listBackups } from "../../src/core/backup/index.ts";
import { testConfig } from "../helpers/app.ts";

/* An embedded backup reads a copy of the data folder made beside it (snapshot-pglite.ts). A process
 * stopped mid-backup (killed, power lost) leaves that copy: a whole, unencrypted copy of the club's data.
 * The next start, and the next backup, remove such copies, and nothing else. */

/** Plants what a stopped backup leaves: a copy folder beside the data folder, with a file in it. */
function plantLeftCopy(dataDir: string): string {
  const copy = path.join(dataDir, `backup-snapshot-${randomUUID()}`);
  fs.mkdirSync(copy, { recursive: true });
  fs.writeFileSync(path.join(copy, "PG_VERSION"), "15\n");
  return copy;
}

test("[G01] a data-folder copy a stopped embedded backup left is removed at the next start and by the next backup", async () => {
  const { config, dirs } = testConfig();
  // First start: makes the data folder.
  await (await openRuntime(config, { migrations: "apply" })).close();
  const leftAtStop = plantLeftCopy(dirs.data);
  // A folder of the operator's own with a similar name is not ours: it stays.
  const notOurs = path.join(dirs.data, "backup-snapshot-notes");
  fs.mkdirSync(notOurs);

  const runtime = await openRuntime(config, { migrations: "apply" });
  try {
    assert.equal(fs.existsSync(leftAtStop), false, "removed when the server opened the folder again");
    assert.equal(fs.existsSync(notOurs), true, "a folder not named as a copy is left alone");

    const leftWhileRunning = plantLeftCopy(dirs.data);
    const backup = await takeBackup(config, runtime.database, "operator:test");
    assert.equal(fs.existsSync(leftWhileRunning), false, "removed by the next backup");
    assert.deepEqual(
      listBackups(dirs.backup).map((b) => b.id),
      [backup.id],
    );
    const copies = fs.readdirSync(dirs.data).filter((name) => /^backup-snapshot-[0-9a-f-]{36}$/.test(name));
    assert.deepEqual(copies, [], "and the backup's own copy is gone once it is done");
  } finally {
    await runtime.close();
  }
});
