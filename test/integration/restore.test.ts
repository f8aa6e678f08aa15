import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { sql } from "kysely";
import { recordedHeadsOfBackups, takeBackup } from "../../src/app/backup-env.ts";
import { describeRestoredAccess, type RestoreOutcome, restoreInPlace } from "../../src/app/restore-flow.ts";
import { defineAction, runAction } from "../../src/core/action.ts";
import { type Actor, operatorActor, systemActor } from "../../src/core/actor.ts";
import { anchorFile } from "../../src/core/audit-anchors.ts";
import { installationId, verifyAuditChain } from "../../src/core/audit-chain.ts";
import { listBackups } from "../../src/core/backup/index.ts";
import { ClubError } from "../../src/core/errors.ts";
import { readJobProgress } from "../../src/core/job-progress.ts";
import { actionCounter } from "../../src/core/metrics.ts";
import { readSystemState } from "../../src/core/modes.ts";
import { hashSecret } from "../../src/core/secrets.ts";
import { replaceFeedToken } from "../../src/domains/events/events.repository.ts";
import {
  acceptInvitation,
  inviteMember,
  linkSettingsOf,
  revokeInvitation,
} from "../../src/domains/identity/account-links.actions.ts";
import { findOpenLink } from "../../src/domains/identity/account-links.repository.ts";
import { createApiToken, revokeApiToken } from "../../src/domains/identity/identity.actions.ts";
import { claimDueMessages, markSentMany } from "../../src/domains/mail/outbox.repository.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { setMode } from "../../src/domains/ops/mode.actions.ts";
import { beginRestore, failRestore, signOffRestore } from "../../src/domains/ops/restore.actions.ts";
import { RESTORE_PROGRESS_JOB } from "../../src/domains/ops/restore.runner.ts";
import { createPreviewLink } from "../../src/domains/pages/preview.actions.ts";
import { createMember, startTestApp, suiteApp } from "../helpers/app.ts";
import { runVerb, sealAll } from "../helpers/audit.ts";
import { flipByte, SECRET_MEMBER, seedClub } from "../helpers/backup.ts";
import { forEachEngine, postgresOnly } from "../helpers/engines.ts";
import { Client } from "../helpers/http.ts";
import { meWith, type Suite, sessionCookie } from "../helpers/identity.ts";
import { tokenOf } from "../helpers/links.ts";
import { act, makePage, publisher } from "../helpers/pages.ts";

/** An action that writes one message, as every domain writes mail. */
const writeNotice = defineAction({
  name: "test.restoreNotice",
  access: { capability: "members:write" },
  effect: "write",
  async run(_scope, input: { to: string }) {
    return {
      result: input.to,
      audit: { action: "test.notice_written", subjectType: "test", subjectId: input.to },
      outbox: [{ topic: "test.notice", recipient: input.to, subject: "Notice", body: "Hello" }],
    };
  },
});

/** How many backups recordBackupCreated has recorded in this process. */
async function recordedBackups(): Promise<number> {
  const { values } = await actionCounter.get();
  return values
    .filter((v) => v.labels.action === "recordBackupCreated" && v.labels.outcome === "committed")
    .reduce((n, v) => n + v.value, 0);
}

const code = (error: unknown) => (error instanceof ClubError ? error.code : String(error));

const clubos = (t: Suite, ...argv: string[]) => runVerb(t.get().runtime, ...argv);

forEachEngine("restore a backup in place (REC-1..REC-4)", (engine) => {
  const t = suiteApp(engine);
  const memberNamed = (name: string) =>
    t
      .get()
      .runtime.database.db.selectFrom("members")
      .select("id")
      .where("name", "=", name)
      .executeTakeFirst();
  const env = (name: string) => t.get().runtime.actionEnv(operatorActor(name));
  const later = "Lena Latecomer-Restorewise";

  /** Three open invitations and a signed-in session, for a backup to hold; afterwards one link is used,
   * one revoked and the session ended. No link and no session restored from the backup may work. */
  async function accessInTheBackup() {
    const { runtime, config, baseUrl } = t.get();
    const system = runtime.actionEnv(systemActor("test"));
    const settings = linkSettingsOf(config, false);
    const invitee = async (name: string) => {
      const m = await runAction(system, createMemberRecord, {
        name,
        email: `${name.toLowerCase().replace(/\W/g, ".")}@example.org`,
      });
      const issued = await runAction(system, inviteMember, { memberId: m.id, settings });
      return { memberId: m.id, name, token: tokenOf(new URL(issued.link!).pathname) };
    };
    const accepted = await invitee("Ada Acceptedlater");
    const revoked = await invitee("Rex Revokedlater");
    const stillOpen = await invitee("Otto Openlink");
    const signedIn = await createMember(runtime, ["member"], "Session Holder");
    const client = new Client(baseUrl);
    assert.equal((await client.login(signedIn.email, signedIn.password)).status, 303);
    const session = client.cookie("clubos_session")!;
    // Credentials the restore can tell apart: one API token revoked after the backup, one still live;
    // a feed address replaced after it; a preview share link.
    const operator = runtime.actionEnv(operatorActor("tokens"));
    const revokedToken = await runAction(operator, createApiToken, {
      memberEmail: signedIn.email,
      name: "old",
    });
    const liveToken = await runAction(operator, createApiToken, {
      memberEmail: signedIn.email,
      name: "live",
    });
    const feedAt = (hash: string) =>
      runtime.database.db.transaction().execute((trx) => replaceFeedToken(trx, signedIn.memberId, hash));
    await feedAt(hashSecret("feed address in the backup"));
    const draft = await makePage(runtime.database, { publish: false });
    await act(runtime.database, publisher(), createPreviewLink, { pageId: draft.id, revision: 1 });
    const tokenRevoked = async (id: string) =>
      (
        await runtime.database.db
          .selectFrom("api_tokens")
          .select("revoked_at")
          .where("id", "=", id)
          .executeTakeFirstOrThrow()
      ).revoked_at !== null;
    return {
      async changeAfterBackup() {
        const asInvitee: Actor = {
          type: "member",
          memberId: accepted.memberId,
          name: accepted.name,
          capabilities: new Set(),
        };
        await runAction(runtime.actionEnv(asInvitee), acceptInvitation, {
          token: accepted.token,
          password: "a long enough passphrase",
          confirm: "a long enough passphrase",
        });
        await runAction(system, revokeInvitation, { memberId: revoked.memberId });
        await runAction(operator, revokeApiToken, { id: revokedToken.id });
        await feedAt(hashSecret("feed address made after the backup"));
        assert.equal((await client.postForm("/logout", {}, "/account/password")).status, 303);
      },
      async assertNobodyLetIn(outcome: RestoreOutcome) {
        const db = runtime.database.db;
        for (const link of [accepted, revoked, stillOpen]) {
          assert.equal(
            await findOpenLink(db, hashSecret(link.token), "invitation"),
            undefined,
            `no link restored from the backup opens again, used, revoked or not (${link.name})`,
          );
        }
        assert.equal(outcome.access.invitationsRevoked, 3);
        const live = await db.selectFrom("sessions").select("id").where("ended_at", "is", null).execute();
        assert.deepEqual(live, [], "every session is ended");
        assert.equal(
          (await meWith(baseUrl, sessionCookie(session))).status,
          401,
          "the restored session is dead",
        );
        const entry = await db
          .selectFrom("audit_log")
          .select(["subject_id", "after"])
          .where("action", "=", "identity.restored_access_ended")
          .orderBy("seq", "desc")
          .executeTakeFirstOrThrow();
        assert.equal(entry.subject_id, outcome.restoreId, "audited as a step of the restore");
        assert.deepEqual(
          [...(entry.after as { invitedMembers: string[] }).invitedMembers].sort(),
          [accepted.memberId, revoked.memberId, stillOpen.memberId].sort(),
        );
        assert.match(describeRestoredAccess(outcome.access), /resend the invitations/);
        assert.equal(
          await tokenRevoked(revokedToken.id),
          true,
          "a token revoked after the backup stays revoked",
        );
        assert.equal(
          await tokenRevoked(liveToken.id),
          false,
          "a token live before the restore keeps working",
        );
        assert.equal(outcome.access.apiTokensRevoked, 1);
        const feed = await db
          .selectFrom("member_feed_tokens")
          .select("token_hash")
          .where("member_id", "=", signedIn.memberId)
          .executeTakeFirstOrThrow();
        assert.equal(
          feed.token_hash,
          hashSecret("feed address made after the backup"),
          "the replaced feed address stays dead",
        );
        const openPreviews = await db
          .selectFrom("page_preview_links")
          .select("id")
          .where("revoked_at", "is", null)
          .execute();
        assert.deepEqual(openPreviews, [], "no share link restored from the backup opens again");
        assert.ok(outcome.access.previewLinksRevoked >= 1);
      },
    };
  }

  test("[G15] the CLI asks for the backup id typed again, and changes nothing without it", async () => {
    const { runtime, config } = t.get();
    await seedClub(runtime);
    const made = await takeBackup(config, runtime.database, "operator:test");
    const none = await clubos(t, "restore", made.id, "--actor", "alice", "--reason", "test");
    assert.equal(none.code, 1);
    assert.match(none.output, new RegExp(`--confirm ${made.id}`));
    const wrong = await clubos(
      t,
      "restore",
      made.id,
      "--actor",
      "alice",
      "--reason",
      "test",
      "--confirm",
      "x",
    );
    assert.equal(wrong.code, 2);
    assert.match(wrong.output, /restore_confirmation_mismatch/);
    assert.equal((await readSystemState(runtime.database.db)).mode, "normal");
    const rows = await runtime.database.db.selectFrom("restores").select("id").execute();
    assert.deepEqual(rows, [], "no restore was started");
  });

  test("[G15] a damaged backup is refused before anything changes", async () => {
    const { runtime, config } = t.get();
    const made = await takeBackup(config, runtime.database, "operator:test");
    const file = made.manifest.tables.find((x) => x.name === "members")!.file;
    flipByte(path.join(made.dir, file));
    await assert.rejects(
      restoreInPlace(runtime, operatorActor("alice"), { id: made.id, reason: "test" }),
      (e) => code(e) === "backup_damaged",
    );
    assert.equal((await readSystemState(runtime.database.db)).mode, "normal");
    assert.equal((await runtime.database.db.selectFrom("restores").select("id").execute()).length, 0);
  });

  test("[G15] a restore puts the backup's data back, keeps a pre-restore backup, and keeps writes off until another full admin signs off", async () => {
    const { runtime, config } = t.get();
    await createMember(runtime, ["full_admin"], "Admin One");
    await createMember(runtime, ["full_admin"], "Admin Two");
    // Links and a session the backup holds, used, revoked and ended after it (checked after the restore).
    const access = await accessInTheBackup();
    const good = await takeBackup(config, runtime.database, "operator:test");
    await access.changeAfterBackup();
    await runAction(runtime.actionEnv(systemActor("test")), createMemberRecord, {
      name: later,
      email: "lena.latecomer@example.org",
    });
    const membersBefore = Number(
      (
        await runtime.database.db
          .selectFrom("members")
          .select((eb) => eb.fn.countAll().as("n"))
          .executeTakeFirstOrThrow()
      ).n,
    );

    const indexes = async () =>
      (
        await sql<{ indexname: string; indexdef: string }>`
          SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`.execute(
          runtime.database.db,
        )
      ).rows;
    const indexesBefore = await indexes();
    const lines: string[] = [];
    const backupsRecorded = await recordedBackups();
    const outcome = await restoreInPlace(runtime, operatorActor("alice"), {
      id: good.id,
      reason: "members were deleted by mistake",
      onProgress: (p) => lines.push(p.step),
    });
    assert.equal(outcome.verified, true, JSON.stringify(outcome.steps));
    assert.deepEqual(
      outcome.steps.map((s) => s.name),
      ["invariants", "audit_chain", "sample_read"],
    );
    assert.ok(lines.includes("pre-backup") && lines.includes("load") && lines.includes("verify"));
    assert.equal(await memberNamed(later), undefined, "the member added after the backup is gone");
    assert.deepEqual(await indexes(), indexesBefore, "every index dropped for the load is built again");
    assert.ok(await memberNamed(SECRET_MEMBER.name), "the backup's members are back");
    await access.assertNobodyLetIn(outcome);

    // Restoring loses nothing: the data it replaced is a backup of its own.
    const pre = listBackups(config.backupDir).find((b) => b.id === outcome.preRestoreBackupId);
    assert.ok(pre, "the pre-restore backup is in the backup folder");
    assert.equal(pre.manifest.tables.find((x) => x.name === "members")!.rows, membersBefore);
    assert.equal(
      (await recordedBackups()) - backupsRecorded,
      1,
      "the pre-restore backup is recorded by the one action every backup is recorded with",
    );

    // Writes stay off, and the mode cannot be switched back by hand.
    const state = await readSystemState(runtime.database.db);
    assert.equal(state.mode, "maintenance");
    assert.match(state.reason ?? "", /waits for sign-off/);
    await assert.rejects(
      runAction(runtime.actionEnv(systemActor("test")), createMemberRecord, {
        name: "X",
        email: "x@example.org",
      }),
      (e) => code(e) === "read_only",
    );
    await assert.rejects(
      runAction(env("alice"), setMode, { mode: "normal", reason: "done" }),
      (e) => code(e) === "restore_awaiting_sign_off",
    );

    // Not by the person who started it while the club has another full admin.
    await assert.rejects(
      runAction(env("alice"), signOffRestore, {}),
      (e) => code(e) === "restore_own_sign_off",
    );
    const signed = await runAction(env("bob"), signOffRestore, { note: "checked the member list" });
    assert.equal(signed.backupId, good.id);
    assert.equal((await readSystemState(runtime.database.db)).mode, "normal");
    await runAction(runtime.actionEnv(systemActor("test")), createMemberRecord, {
      name: "After Resume",
      email: "after.resume@example.org",
    });

    // The written confirmation is on the incident, and every step is in the audit log.
    const entries = await runtime.database.db
      .selectFrom("incident_entries")
      .select(["kind", "text"])
      .where("incident_id", "=", outcome.incident.id)
      .execute();
    const confirmation = entries.find((e) => e.kind === "confirmation" && e.text.includes(good.id));
    assert.ok(confirmation, JSON.stringify(entries));
    assert.match(confirmation.text, new RegExp(outcome.preRestoreBackupId));
    assert.match(confirmation.text, /Verification passed/);
    assert.ok(entries.some((e) => e.kind === "confirmation" && /Signed off/.test(e.text)));
    const actions = (
      await runtime.database.db
        .selectFrom("audit_log")
        .select("action")
        .where("action", "like", "system.restore%")
        .execute()
    ).map((r) => r.action);
    assert.ok(
      actions.includes("system.restored") && actions.includes("system.restore_signed_off"),
      actions.join(),
    );
    // Who started it, when and why survive the load that replaced the log holding 'system.restore_started'.
    const restored = await runtime.database.db
      .selectFrom("audit_log")
      .select(["after"])
      .where("action", "=", "system.restored")
      .orderBy("seq", "desc")
      .executeTakeFirstOrThrow();
    const said = restored.after as { startedBy?: string; startedAt?: string; reason?: string };
    assert.match(said.startedBy ?? "", /^operator:/);
    assert.ok(said.startedAt && !Number.isNaN(Date.parse(said.startedAt)), JSON.stringify(said));
    assert.ok(said.reason);

    // The audit chain verifies on its new timeline, against the anchors and every backup's head.
    await sealAll(runtime.database, config.backupDir);
    const heads = recordedHeadsOfBackups(config, await installationId(runtime.database));
    const report = await verifyAuditChain(runtime.database, config.backupDir, { recordedHeads: heads });
    assert.equal(report.ok, true, JSON.stringify(report.problems));

    // Without the fork of the anchors, the restored chain would look rewritten.
    const archived = fs
      .readdirSync(config.backupDir)
      .find((f) => f.startsWith("audit-anchors.before-restore-"));
    assert.ok(archived);
    const current = fs.readFileSync(anchorFile(config.backupDir));
    fs.copyFileSync(path.join(config.backupDir, archived), anchorFile(config.backupDir));
    try {
      const unforked = await verifyAuditChain(runtime.database, config.backupDir, { anchorWaitMs: 0 });
      assert.equal(unforked.ok, false, "the old timeline's anchors do not match the restored chain");
    } finally {
      fs.writeFileSync(anchorFile(config.backupDir), current);
    }
  });

  test("[G15] mail that left after the backup was taken is not sent again by the restored outbox", async () => {
    const { runtime, config } = t.get();
    await runAction(runtime.actionEnv(systemActor("test")), writeNotice, { to: "left@example.org" });
    await runAction(runtime.actionEnv(systemActor("test")), writeNotice, { to: "waiting@example.org" });
    const made = await takeBackup(config, runtime.database, "operator:test");
    // The worker sends one of the two after the backup, as it would.
    const claimed = await claimDueMessages(runtime.database.db, {
      worker: "w1",
      limit: 10,
      leaseMs: 60_000,
      domain: "example.org",
    });
    const left = claimed.find((m) => m.recipient === "left@example.org")!;
    assert.equal(await markSentMany(runtime.database.db, "w1", [{ id: left.id, response: "250 ok" }]), 1);
    const outcome = await restoreInPlace(runtime, operatorActor("gina"), { id: made.id, reason: "test" });
    assert.equal(outcome.verified, true, JSON.stringify(outcome.steps));
    const rows = await runtime.database.db
      .selectFrom("outbox")
      .select(["recipient", "status", "message_id"])
      .where("recipient", "in", ["left@example.org", "waiting@example.org"])
      .orderBy("recipient")
      .execute();
    assert.deepEqual(
      rows.map((r) => [r.recipient, r.status]),
      [
        ["left@example.org", "sent"],
        ["waiting@example.org", "pending"],
      ],
    );
    assert.equal(rows[0]!.message_id, left.message_id, "the Message-ID it went out with is kept");
    await runAction(env("hank"), signOffRestore, {});
  });

  test("[G15] sign-off is refused until verification has passed; a failed start puts the mode back", async () => {
    const { runtime, config } = t.get();
    const made = await takeBackup(config, runtime.database, "operator:test");
    await runAction(env("carol"), setMode, { mode: "read-only", reason: "checking something" });
    const begun = await runAction(env("carol"), beginRestore, { backupId: made.id, reason: "test" });
    assert.equal((await readSystemState(runtime.database.db)).mode, "maintenance");
    await assert.rejects(
      runAction(env("dave"), signOffRestore, {}),
      (e) => code(e) === "restore_not_verified",
    );
    await assert.rejects(
      runAction(env("dave"), beginRestore, { backupId: made.id, reason: "again" }),
      (e) => code(e) === "restore_in_progress",
    );
    await runAction(env("carol"), failRestore, { restoreId: begun.restoreId, failure: "disk full" });
    const state = await readSystemState(runtime.database.db);
    assert.equal(state.mode, "read-only", "the mode before the restore comes back");
    assert.match(state.reason ?? "", /nothing was changed: disk full/);
    await assert.rejects(runAction(env("dave"), signOffRestore, {}), (e) => code(e) === "restore_not_open");
    await runAction(env("carol"), setMode, { mode: "normal", reason: "done" });
  });

  test("[G15] two restores started at once: one runs, the other is told a restore is running, and the page keeps the first's progress", async () => {
    const { runtime, config } = t.get();
    const made = await takeBackup(config, runtime.database, "operator:test");
    const outcomes = await Promise.allSettled([
      restoreInPlace(runtime, operatorActor("ivy"), { id: made.id, reason: "first" }),
      restoreInPlace(runtime, operatorActor("jack"), { id: made.id, reason: "second" }),
    ]);
    const refused = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason] : []));
    const done = outcomes.flatMap((o) => (o.status === "fulfilled" ? [o.value] : []));
    assert.deepEqual(refused.map(code), ["restore_in_progress"]);
    assert.equal(done.length, 1);
    assert.equal(done[0]!.verified, true, JSON.stringify(done[0]!.steps));
    // The refused one never took the progress row: what the restore pages show is the restore that ran.
    const [row] = await readJobProgress(runtime.database.db, [RESTORE_PROGRESS_JOB]);
    assert.equal(row?.outcome, "ok", row?.detail ?? "");
    assert.match(row?.detail ?? "", /Restored and verified backup/);
    await runAction(env("kim"), signOffRestore, {});
  });

  test("[G15] restored data that fails verification keeps writes off until another restore", async () => {
    const { runtime, config } = t.get();
    const made = await takeBackup(config, runtime.database, "operator:test");
    // Someone tampered with an anchor the backup's chain must match: the audit chain check fails.
    const file = anchorFile(config.backupDir);
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    const first = JSON.parse(lines[0]!);
    lines[0] = JSON.stringify({ ...first, chainHash: "0".repeat(64) });
    fs.writeFileSync(file, `${lines.join("\n")}\n`);
    const outcome = await restoreInPlace(runtime, operatorActor("erin"), { id: made.id, reason: "test" });
    assert.equal(outcome.verified, false);
    assert.equal(outcome.steps.find((s) => s.name === "audit_chain")?.ok, false);
    await assert.rejects(
      runAction(env("frank"), signOffRestore, {}),
      (e) => code(e) === "restore_not_verified",
    );
    assert.equal((await readSystemState(runtime.database.db)).mode, "maintenance");
    await assert.rejects(
      runAction(env("frank"), setMode, { mode: "normal", reason: "ignore it" }),
      (e) => code(e) === "restore_awaiting_sign_off",
    );
  });
});

postgresOnly("moving from the embedded database to a PostgreSQL server", () => {
  test("[G15] a backup of the embedded database restores into a new server database, verified", async () => {
    const embedded = await startTestApp("pglite");
    const server = await startTestApp("postgres");
    try {
      await seedClub(embedded.runtime);
      const made = await takeBackup(embedded.config, embedded.runtime.database, "operator:test");
      const names = (app: typeof embedded) =>
        app.runtime.database.db.selectFrom("members").select("name").orderBy("name").execute();
      const outcome = await restoreInPlace(server.runtime, operatorActor("mover"), {
        id: made.id,
        reason: "moving to a server",
        from: embedded.config.backupDir,
      });
      assert.equal(outcome.verified, true, JSON.stringify(outcome.steps));
      assert.deepEqual(await names(server), await names(embedded));
      // The server took the club's identity, so the chain's anchors (brought along) still match.
      assert.equal(
        await installationId(server.runtime.database),
        await installationId(embedded.runtime.database),
      );
      await runAction(server.runtime.actionEnv(operatorActor("checker")), signOffRestore, {});
      await sealAll(server.runtime.database, server.config.backupDir);
      const report = await verifyAuditChain(server.runtime.database, server.config.backupDir);
      assert.equal(report.ok, true, JSON.stringify(report.problems));
    } finally {
      await embedded.close();
      await server.close();
    }
  });
});
