import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { runCli } from "../../src/app/cli.ts";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { anchorFile, readAnchors } from "../../src/core/audit-anchors.ts";
import {
  auditHeadRecord,
  type ChainHead,
  chainHead,
  type RecordedHead,
  type VerifyReport,
  verifyAuditChain,
} from "../../src/core/audit-chain.ts";
import { AuditSealer } from "../../src/core/audit-sealer.ts";
import type { Database } from "../../src/core/db/connect.ts";
import { suiteApp } from "../helpers/app.ts";
import { cliEnv, lastSeq, noteAction, sealedEntries, tamperCommitted, tampered } from "../helpers/audit.ts";
import { forEachEngine } from "../helpers/engines.ts";

// The anchors are what an attacker who can rewrite the database (and recompute every hash with the
// code) cannot rewrite with it: each attack is tried here, with and without touching the anchor file.

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "clubos-anchors-"));
const kinds = (r: VerifyReport) => r.problems.map((p) => p.kind);
const problemsOf = (r: VerifyReport) => r.problems.map((p) => [p.kind, p.seq]);
const FAST = { anchorWaitMs: 50 };

/** A copy of the anchor folder holding only the lines keep() accepts ("" lines: an emptied file). */
function anchorCopy(from: string, keep: (line: string, index: number) => boolean): string {
  const dir = tempDir();
  const lines = fs.readFileSync(anchorFile(from), "utf8").split("\n").filter(Boolean);
  const kept = lines.filter(keep);
  fs.writeFileSync(anchorFile(dir), kept.map((l) => `${l}\n`).join(""));
  return dir;
}

/** The attacker's rewrite: change an entry, then recompute every seal from the start with the
 * shipped sealing function, so every hash in the database agrees with every other. */
async function rewriteChain(d: Database, seq: number): Promise<void> {
  await sql`UPDATE audit_log SET reason = 'rewritten history' WHERE seq = ${seq}`.execute(d.db);
  await sql`DELETE FROM audit_chain`.execute(d.db);
  await sql`SELECT clubos_audit_seal((SELECT max(seq) FROM audit_log))`.execute(d.db);
}

/** Deletes the entries (and their seals) from seq on: the newest entries vanish. */
async function cutTail(d: Database, from: number): Promise<void> {
  await sql`DELETE FROM audit_chain WHERE seq >= ${from}`.execute(d.db);
  await sql`DELETE FROM audit_log WHERE seq >= ${from}`.execute(d.db);
}

forEachEngine("audit anchors", (engine) => {
  const t = suiteApp(engine);
  const db = () => t.get().runtime.database;
  const dir = () => t.get().config.backupDir;
  const head = async (): Promise<ChainHead> => (await chainHead(db()))!;

  test("[G04] the server's own sealer anchors every seal, not once a minute", async () => {
    const env = t.get().runtime.actionEnv(systemActor("test"));
    for (let round = 0; round < 3; round++) {
      await runAction(env, noteAction, { label: `served-${round}` });
      const seq = await lastSeq(db());
      const sealed = await waitFor(async () => {
        const newest = Math.max(...readAnchors(dir()).map((a) => a.seq));
        return newest >= seq ? newest : null;
      });
      assert.ok(sealed, `round ${round}: entry ${seq} is anchored within 2 s of its commit`);
    }
  });

  test("[G04] tail truncation: deleting the newest sealed entries fails verify, naming the first missing seq", async () => {
    const [first, second, third] = await sealedEntries(db(), dir());
    const report = await tampered(db(), async (d) => {
      await cutTail(d, second!);
      return verifyAuditChain(d, dir());
    });
    assert.equal(report.ok, false);
    assert.deepEqual(problemsOf(report), [["chain_truncated", third]]);
    assert.match(report.problems[0]!.message, new RegExp(`entries after seq ${first} are missing`));
    assert.match(report.problems[0]!.message, /expected after a point-in-time recovery/);
  });

  test("[G04] without an anchor at every seal (the old once-a-minute anchoring) the same truncation passes verify", async () => {
    const env = { database: db(), actor: systemActor("test"), clubName: "Test Club" };
    const outcomes: Record<string, [VerifyReport, VerifyReport]> = {};
    const sealers = {
      onceAMinute: (anchors: string) => new AuditSealer(db(), anchors, undefined, 60_000),
      everySeal: (anchors: string) => new AuditSealer(db(), anchors),
    };
    try {
      for (const [name, make] of Object.entries(sealers)) {
        const anchors = tempDir();
        const sealer = make(anchors);
        await runAction(env, noteAction, { label: `${name}: anchored` });
        await sealer.runOnce(true); // the first seal is anchored either way
        for (let i = 0; i < 3; i++) await runAction(env, noteAction, { label: `${name}: newest ${i}` });
        await sealer.runOnce(); // sealed; anchored only if every seal is
        const newest = await lastSeq(db());
        outcomes[name] = await tampered(db(), async (d) => {
          const before = await verifyAuditChain(d, anchors, FAST);
          await cutTail(d, newest - 2);
          return [before, await verifyAuditChain(d, anchors, FAST)];
        });
        await sealer.stop();
      }
    } finally {
      await sealedEntries(db(), dir(), 1); // the suite's own anchor file covers the head again
    }
    const [oldBefore, oldAfter] = outcomes.onceAMinute!;
    assert.deepEqual(kinds(oldBefore), ["anchor_behind"], "the unanchored minute shows as a window");
    assert.equal(
      oldAfter.ok,
      true,
      `the newest entries vanished without a trace: ${JSON.stringify(oldAfter)}`,
    );
    const [newBefore, newAfter] = outcomes.everySeal!;
    assert.deepEqual(newBefore.problems, []);
    assert.deepEqual(kinds(newAfter), ["chain_truncated"]);
  });

  test("[G04] the sealer retries an anchor it could not write, and never anchors a head it did not seal", async () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, "blocker"), "a file where the backup folder should be");
    const anchors = path.join(root, "blocker", "backups");
    const sealer = new AuditSealer(db(), anchors);
    try {
      await runAction({ database: db(), actor: systemActor("test"), clubName: "Test Club" }, noteAction, {
        label: "retried",
      });
      const seq = await lastSeq(db());
      await sealer.runOnce(); // sealed; the anchor write fails (the folder cannot be made)
      assert.equal((await head()).seq, seq, "the seal itself committed");
      assert.equal(fs.existsSync(anchorFile(anchors)), false);
      fs.rmSync(path.join(root, "blocker"));
      await sealer.runOnce(); // nothing new to seal: it writes the anchor it still owes
      assert.deepEqual(
        readAnchors(anchors).map((a) => a.seq),
        [seq],
      );
      const bystander = tempDir();
      await new AuditSealer(db(), bystander).stop(); // sealed nothing, so anchors nothing
      assert.equal(fs.existsSync(anchorFile(bystander)), false);
    } finally {
      await sealer.stop();
      await sealedEntries(db(), dir(), 1);
    }
  });

  test("[G04] a consistent rewrite of the whole chain fails against the anchors", async () => {
    await sealedEntries(db(), dir());
    const report = await tampered(db(), async (d) => {
      const firstSeq = Number(
        (await sql<{ s: number }>`SELECT min(seq) AS s FROM audit_log`.execute(d.db)).rows[0]!.s,
      );
      await rewriteChain(d, firstSeq);
      return verifyAuditChain(d, dir());
    });
    assert.equal(report.ok, false);
    assert.ok(
      kinds(report).length > 0 && kinds(report).every((k) => k === "anchor_mismatch"),
      JSON.stringify(report),
    );
  });

  for (const [how, keep] of [
    ["deleting the anchor file", null],
    ["emptying the anchor file", () => false],
    ["leaving only another installation's anchors", "other"],
  ] as const) {
    test(`[G04] a consistent rewrite plus ${how} fails with anchors_missing`, async () => {
      const [first, , last] = await sealedEntries(db(), dir());
      let anchors: string;
      if (keep === null) anchors = tempDir();
      else if (keep === "other") {
        anchors = tempDir();
        const other = { installationId: "another-club", seq: last, chainHash: "f".repeat(64), at: "then" };
        fs.writeFileSync(anchorFile(anchors), `${JSON.stringify(other)}\n`);
      } else anchors = anchorCopy(dir(), keep);
      const report = await tampered(db(), async (d) => {
        await rewriteChain(d, first!);
        return verifyAuditChain(d, anchors);
      });
      assert.deepEqual(problemsOf(report), [["anchors_missing", last]]);
      assert.match(report.problems[0]!.message, /holds no anchor of this installation/);
      assert.match(report.problems[0]!.message, /audit-tamper\.md/);
    });
  }

  test("[G04] a rewrite plus cutting the anchor file back to before it fails: anchor_behind, and against a recorded head", async () => {
    const before = await head();
    const [first, , last] = await sealedEntries(db(), dir());
    const recorded: RecordedHead = { source: "backup test-1 (off-site copy)", ...(await record()) };
    const cut = anchorCopy(dir(), (line) => (JSON.parse(line) as { seq: number }).seq < first!);
    const [local, withRecord] = await tampered(db(), async (d) => {
      await rewriteChain(d, first!);
      return [
        await verifyAuditChain(d, cut, FAST),
        await verifyAuditChain(d, cut, { ...FAST, recordedHeads: [recorded] }),
      ];
    });
    assert.deepEqual(problemsOf(local), [["anchor_behind", last]]);
    assert.match(local.problems[0]!.message, new RegExp(`newest anchor names entry ${before.seq}`));
    assert.deepEqual(problemsOf(withRecord), [
      ["recorded_head_mismatch", last],
      ["anchors_truncated", last],
      ["anchor_behind", last],
    ]);
    assert.match(
      withRecord.problems[0]!.message,
      /differs from what backup test-1 \(off-site copy\) recorded/,
    );
  });

  test("[G04] an anchor file shorter than a recorded head fails with anchors_truncated", async () => {
    await sealedEntries(db(), dir());
    await sealedEntries(db(), dir());
    const recorded: RecordedHead = { source: "backup test-2", ...(await record()) };
    assert.ok(recorded.anchorCount! >= 2);
    const all = fs.readFileSync(anchorFile(dir()), "utf8").split("\n").filter(Boolean);
    // Only the first line goes: the newest anchor is still there, but the file has fewer lines.
    const shorter = anchorCopy(dir(), (_line, i) => i > 0);
    const report = await verifyAuditChain(db(), shorter, { recordedHeads: [recorded] });
    assert.deepEqual(problemsOf(report), [["anchors_truncated", recorded.seq]]);
    assert.match(
      report.problems[0]!.message,
      new RegExp(`recorded ${all.length} anchors, but the anchor file holds ${all.length - 1}`),
    );
    const intact = await verifyAuditChain(db(), dir(), { recordedHeads: [recorded] });
    assert.deepEqual(intact.problems, [], "the same record against the whole file passes");
    assert.equal(intact.recordedHeadsChecked, 1);
  });

  test("[G04] a recorded head beyond the chain's end fails as a truncation naming its source", async () => {
    const recorded: RecordedHead = { source: "backup test-3", ...(await record()) };
    const report = await tampered(db(), async (d) => {
      await cutTail(d, recorded.seq);
      return verifyAuditChain(d, dir(), { recordedHeads: [recorded] });
    });
    const truncations = report.problems.filter((p) => p.kind === "chain_truncated");
    assert.equal(truncations.length, 2, "one from the anchors, one from the record");
    assert.ok(truncations.some((p) => p.seq === recorded.seq && /^backup test-3 recorded/.test(p.message)));
  });

  test("[G04] a restored copy verified up to its own end (chainEnd) skips the anchors of later entries", async () => {
    const recorded = await record();
    await sealedEntries(db(), dir());
    const report = await tampered(db(), async (d) => {
      await cutTail(d, recorded.seq + 1); // what a backup taken at `recorded` holds
      return [
        await verifyAuditChain(d, dir()),
        await verifyAuditChain(d, dir(), {
          chainEnd: recorded.seq,
          recordedHeads: [{ source: "manifest", ...recorded }],
        }),
      ];
    });
    assert.deepEqual(kinds(report[0]!), ["chain_truncated"]);
    assert.deepEqual(report[1]!.problems, []);
  });

  test("[G04] `clubos audit verify` says what it checked, and fails on missing anchors and on a wrong --head", async () => {
    const { runtime } = t.get();
    const h = await head();
    const good = cliEnv(runtime);
    assert.equal(
      await runCli(["audit", "verify", "--head", `${h.seq}:${h.chainHash}`], good.env),
      0,
      good.lines.join("\n"),
    );
    assert.ok(
      good.lines.some((l) =>
        /^Checked \d+ entries \(\d+ sealed, 0 waiting to be sealed\); chain head: entry \d+\.$/.test(l),
      ),
      good.lines.join("\n"),
    );
    assert.ok(
      good.lines.some((l) => l.startsWith("Checked ") && l.includes(`anchors in ${anchorFile(dir())}`)),
    );
    assert.ok(good.lines.includes("Checked 1 recorded heads."));

    const wrong = cliEnv(runtime);
    assert.equal(await runCli(["audit", "verify", "--head", `${h.seq}:${"0".repeat(64)}`], wrong.env), 1);
    assert.ok(
      wrong.lines.some((l) => l.startsWith("PROBLEM (recorded_head_mismatch): The chain up to entry")),
    );

    const malformed = cliEnv(runtime);
    assert.equal(await runCli(["audit", "verify", "--head", "12:abc"], malformed.env), 2);
    assert.ok(
      malformed.lines.some((l) => l.includes("--head must be SEQ:HASH") && l.includes("[invalid_input]")),
    );

    const aside = `${anchorFile(dir())}.aside`;
    fs.renameSync(anchorFile(dir()), aside);
    try {
      const missing = cliEnv(runtime);
      assert.equal(await runCli(["audit", "verify", "--json"], missing.env), 1);
      const report = JSON.parse(missing.lines.join("\n")) as VerifyReport;
      assert.deepEqual(kinds(report), ["anchors_missing"]);
      assert.equal(report.anchorsChecked, 0);
    } finally {
      fs.renameSync(aside, anchorFile(dir()));
    }
  });

  test("[G04] after a recovery to an earlier point, the runbook's archive-and-re-anchor step acknowledges the lost tail", async () => {
    const { runtime } = t.get();
    const [, second] = await sealedEntries(db(), dir());
    // What a point-in-time recovery leaves: the anchors name entries the recovered database never had.
    await tamperCommitted(db(), (d) => cutTail(d, second!));
    const after = cliEnv(runtime);
    assert.equal(await runCli(["audit", "verify"], after.env), 1);
    assert.ok(
      after.lines.some(
        (l) =>
          l.startsWith("PROBLEM (chain_truncated):") && /expected after a point-in-time recovery/.test(l),
      ),
      after.lines.join("\n"),
    );
    // docs/runbooks/audit-tamper.md, "After a point-in-time recovery": archive the file under a dated
    // name in the same folder, then anchor the recovered head.
    const archived = path.join(dir(), "audit-anchors.before-recovery-20261202.jsonl");
    fs.renameSync(anchorFile(dir()), archived);
    const anchor = cliEnv(runtime);
    assert.equal(await runCli(["audit", "anchor"], anchor.env), 0, anchor.lines.join("\n"));
    assert.ok(anchor.lines.some((l) => l.startsWith("Anchored entry ")));
    const clean = cliEnv(runtime);
    assert.equal(await runCli(["audit", "verify"], clean.env), 0, clean.lines.join("\n"));
    assert.ok(clean.lines.includes("The audit log is intact."));
    assert.ok(fs.existsSync(archived), "the old anchors are kept as evidence");
  });

  async function record(): Promise<{ seq: number; hash: string; anchorCount: number }> {
    const r = await auditHeadRecord(db(), dir());
    assert.ok(r);
    return r;
  }
});

async function waitFor<T>(fn: () => Promise<T | null>, ms = 2000): Promise<T | null> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}
