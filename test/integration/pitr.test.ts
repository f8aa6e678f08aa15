import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { runAction } from "../../src/core/action.ts";
import { systemActor } from "../../src/core/actor.ts";
import { anchorFile } from "../../src/core/audit-anchors.ts";
import { walArchiveStatus } from "../../src/core/db/wal-archive.ts";
import { createMemberRecord } from "../../src/domains/members/member-create.actions.ts";
import { startTestApp, suiteApp, type TestApp } from "../helpers/app.ts";
import { type Cluster, clusterUnavailable, giveToPostgres, makeCluster } from "../helpers/cluster.ts";
import { forEachEngine, postgresOnly, REQUIRE_ALL, SERVER_URL } from "../helpers/engines.ts";
import { publishedEvent, tokenMember } from "../helpers/events.ts";

/* Point-in-time recovery on a PostgreSQL server, done for real (docs/runbooks/point-in-time-recovery.md):
 * a cluster of its own that archives its WAL, a base backup, writes on both sides of a target time,
 * recovery to that time from the backup and the archive, and the checks an operator runs after. */

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin", "clubos.mjs");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the real clubos command as a child process. */
function clubos(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c) => {
      out += c;
    });
    child.stderr.on("data", (c) => {
      err += c;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

async function queryOne<T extends pg.QueryResultRow>(url: string, text: string): Promise<T> {
  const [row] = await query<T>(url, text);
  if (!row) throw new Error(`no row from ${text}`);
  return row;
}

/** Ends the current WAL segment and waits until the archiver has copied it (or a later one). */
async function switchAndWaitArchived(url: string): Promise<string> {
  const { segment } = await queryOne<{ segment: string }>(
    url,
    "SELECT pg_walfile_name(pg_switch_wal()) AS segment",
  );
  for (let i = 0; i < 300; i++) {
    const [row] = await query<{ last: string | null }>(
      url,
      "SELECT last_archived_wal AS last FROM pg_stat_archiver",
    );
    if (row?.last && row.last >= segment) return segment;
    await sleep(100);
  }
  throw new Error(`WAL segment ${segment} was not archived within 30 s`);
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Members created through the application's action, one audited transaction each. */
async function addMembers(app: TestApp, label: string, count: number): Promise<string[]> {
  const env = app.runtime.actionEnv(systemActor("pitr-drill"));
  const emails: string[] = [];
  for (let i = 1; i <= count; i++) {
    const email = `${label}-${i}@example.org`;
    await runAction(env, createMemberRecord, { name: `${label} member ${i}`, email });
    emails.push(email);
  }
  return emails;
}

const noCluster = clusterUnavailable();
postgresOnly("point-in-time recovery from a base backup and archived WAL", () => {
  if (noCluster) {
    test("required: a throwaway PostgreSQL cluster", { skip: REQUIRE_ALL ? false : noCluster }, () => {
      throw new Error(`A throwaway cluster cannot be made here: ${noCluster}`);
    });
    return;
  }
  let source: Cluster;
  let archive: string;
  let base: string;
  let app: TestApp | undefined;
  let operatorToken: string;
  const clusters: Cluster[] = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-pitr-"));

  before(async () => {
    source = await makeCluster({ walSegmentMb: 1 });
    clusters.push(source);
    archive = source.mkdir("archive");
    base = source.mkdir("base");
    source.configure({
      wal_level: "replica",
      archive_mode: "on",
      archive_command: `test ! -f ${archive}/%f && cp %p ${archive}/%f`,
      // The runbook says 15min; a short one here so the idle tail is archived quickly too.
      archive_timeout: "5s",
    });
    source.start();
    await query(source.url(), "CREATE DATABASE clubos");
    // The server's own start-up: ClubOS migrations on the new database, then its runtime.
    app = await startTestApp("postgres", {}, { databaseUrl: source.url("clubos") });
    operatorToken = (await tokenMember(app.runtime, ["member", "full_admin", "operator"])).token;
  });

  after(async () => {
    await app?.close().catch(() => {});
    for (const cluster of clusters) cluster.destroy();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test("[G01] a server that archives WAL shows its last archived segment: status, /admin/system and /metrics, and a failing archive_command shows as FAILING", async () => {
    assert.ok(app);
    await addMembers(app, "archiving", 1);
    const segment = await switchAndWaitArchived(source.url());
    const status = await walArchiveStatus(app.runtime.database);
    assert.equal(status.state, "archiving", JSON.stringify(status));
    if (status.state !== "archiving") return;
    assert.ok(status.lastArchivedWal && status.lastArchivedWal >= segment, JSON.stringify(status));
    assert.ok(status.ageSeconds !== null && status.ageSeconds < 60, JSON.stringify(status));
    assert.equal(status.failedCount, 0);
    assert.ok(fs.existsSync(path.join(archive, segment)), "the segment is in the archive folder");

    const page = await fetch(`${app.baseUrl}/admin/system`, {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    const html = await page.text();
    assert.equal(page.status, 200, html.slice(0, 300));
    assert.match(html, /WAL archiving: last archived \d+ seconds ago \([0-9A-F]{24}\)/);

    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    const age = Number(metrics.match(/^clubos_wal_archive_age_seconds (\S+)$/m)?.[1]);
    assert.ok(age >= 0 && age < 60, `clubos_wal_archive_age_seconds ${age}`);

    // The archive folder becomes unwritable (a full disk, a lost mount): the archiver fails, and says so.
    await query(source.url(), "ALTER SYSTEM SET archive_command = 'false'");
    await query(source.url(), "SELECT pg_reload_conf()");
    await addMembers(app, "unarchived", 1);
    // The archiver reads the new command when it gets round to it: until it fails, keep giving it
    // new segments (a transaction, then a switch).
    await until("a failed archive attempt", async () => {
      if ((await walArchiveStatus(app!.runtime.database)).state === "failing") return true;
      await query(source.url(), "SELECT txid_current(); SELECT pg_switch_wal()");
      await sleep(400);
      return false;
    });
    const failing = await fetch(`${app.baseUrl}/admin/system`, {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    assert.match(await failing.text(), /WAL archiving: FAILING: the last attempt failed at/);
    // Fixed again: the archiver copies what waited, and the state is archiving once more.
    await query(source.url(), "ALTER SYSTEM RESET archive_command");
    await query(source.url(), "SELECT pg_reload_conf()");
    await switchAndWaitArchived(source.url());
    assert.equal((await walArchiveStatus(app.runtime.database)).state, "archiving");
  });

  // Written before and after the target time T by the drill; read by the tests after it.
  const preTarget = { emails: [] as string[], event: "" };
  const postTarget = { emails: [] as string[], event: "" };

  test("[G01] the drill: base backup (verified), writes on both sides of a time T, recovery to T keeps what came before and nothing after; invariants, pg_amcheck and the audit chain check out", async (t) => {
    assert.ok(app);
    const started = Date.now();
    const baseEmails = await addMembers(app, "base", 2);
    await publishedEvent(app.runtime, { title: "In the base backup" });

    // 1. Base backup, then its manifest checked against the files.
    const hostArgs = ["-h", "127.0.0.1", "-p", String(source.port), "-U", "postgres"];
    source.tool("pg_basebackup", [...hostArgs, "-D", base, "-X", "stream", "-c", "fast", "--no-sync"]);
    assert.match(source.tool("pg_verifybackup", [base]), /backup successfully verified/);

    // 2. Writes after the backup and before T: only the archived WAL holds them.
    preTarget.emails = await addMembers(app, "before", 3);
    preTarget.event = (await publishedEvent(app.runtime, { title: "Before the target" })).id;
    await app.runtime.sealer.runOnce(true); // sealed and anchored before T
    await sleep(50);
    // T from the server's clock, which stamps the commit records recovery compares it with.
    const { target, targetMs } = await queryOne<{ target: string; targetMs: number }>(
      source.url(),
      `SELECT now::text AS target, (extract(epoch FROM now) * 1000)::float8 AS "targetMs"
       FROM clock_timestamp() AS now`,
    );
    await sleep(50);

    // 3. Writes after T: recovery must leave them out.
    postTarget.emails = await addMembers(app, "after", 3);
    postTarget.event = (await publishedEvent(app.runtime, { title: "After the target" })).id;
    await app.runtime.sealer.runOnce(true); // an anchor naming entries that recovery leaves out
    await switchAndWaitArchived(source.url());
    const sourceBackupDir = app.dirs.backup;
    await app.close(); // its last seal and anchor come after T as well
    app = undefined;
    source.stop("fast");

    // 4. Recovery: the base backup into a new data folder, WAL from the archive, stop at T, promote.
    const recovered = await makeCluster({ from: base });
    clusters.push(recovered);
    // The copy is checked before use and before its settings change: pg_verifybackup compares every
    // file, postgresql.conf included, with backup_manifest.
    assert.match(
      recovered.tool("pg_verifybackup", ["--no-parse-wal", recovered.dir]),
      /successfully verified/,
    );
    recovered.configure({
      restore_command: `cp ${archive}/%f %p`,
      recovery_target_time: target,
      recovery_target_action: "promote",
    });
    fs.writeFileSync(path.join(recovered.dir, "recovery.signal"), "");
    recovered.start();
    const url = recovered.url("clubos");
    await until("promotion", async () => {
      const [row] = await query<{ r: boolean }>(recovered.url(), "SELECT pg_is_in_recovery() AS r");
      return row?.r === false;
    });
    // The log lines the runbook tells the operator to look for.
    for (const line of [
      /starting point-in-time recovery to/,
      /restored log file "[0-9A-F]{24}" from archive/,
      /recovery stopping before commit of transaction \d+, time/,
      /selected new timeline ID/,
    ])
      assert.match(recovered.log(), line, recovered.log());

    // What the recovered chain ends with: the last entry sealed before T.
    const { head } = await queryOne<{ head: number }>(
      url,
      "SELECT coalesce(max(seq), 0)::int AS head FROM audit_chain",
    );

    // 5. What came before T is there, what came after is not.
    const emails = (await query<{ email: string }>(url, "SELECT email FROM members")).map((r) => r.email);
    for (const email of [...baseEmails, ...preTarget.emails])
      assert.ok(emails.includes(email), `${email} kept`);
    for (const email of postTarget.emails) assert.ok(!emails.includes(email), `${email} left out`);
    const events = (await query<{ id: string }>(url, "SELECT id FROM events")).map((r) => r.id);
    assert.ok(events.includes(preTarget.event), "the event before T is kept");
    assert.ok(!events.includes(postTarget.event), "the event after T is left out");

    // 6. The audit chain, first, while ClubOS is still stopped (docs/runbooks/audit-tamper.md section 6):
    // the server's backup folder still holds the anchors of before the recovery, which name entries
    // after T. Verify reports those as cut off, and only those; the file is archived and the
    // recovered head anchored. (Any write before this would anchor the recovered chain into the old
    // file and muddle what it proves.)
    const backupDir = path.join(scratch, "backups");
    fs.mkdirSync(backupDir);
    fs.copyFileSync(anchorFile(sourceBackupDir), anchorFile(backupDir));
    const cli = {
      DATABASE_URL: url,
      CLUBOS_DATA_DIR: path.join(scratch, "data"),
      CLUBOS_BACKUP_DIR: backupDir,
    };
    const anchorAt = new Map(
      fs
        .readFileSync(anchorFile(backupDir), "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { seq: number; at: string })
        .map((a) => [a.seq, Date.parse(a.at)]),
    );
    assert.ok(
      [...anchorAt].some(([seq, at]) => seq <= head && at < targetMs),
      "an anchor from before T is checked too",
    );
    assert.ok(
      [...anchorAt].filter(([seq]) => seq > head).every(([, at]) => at > targetMs),
      "every anchor naming a lost entry is dated after T",
    );
    const migrations = await clubos(["migrate", "--status"], cli);
    assert.equal(migrations.code, 0, migrations.out + migrations.err);
    assert.doesNotMatch(migrations.out, /^(pending|outdated)/m, "the recovered schema is current");
    const stale = await clubos(["audit", "verify", "--json"], cli);
    assert.equal(stale.code, 1, stale.out + stale.err);
    const report = JSON.parse(stale.out) as { problems: Array<{ seq: number; kind: string }> };
    assert.deepEqual(
      report.problems.map((p) => p.kind),
      ["chain_truncated"],
      `only the entries after the recovery point (${head}) are reported: ${stale.out}`,
    );
    assert.ok(report.problems[0]!.seq > head, stale.out);
    fs.renameSync(anchorFile(backupDir), path.join(backupDir, "audit-anchors.before-recovery.jsonl"));
    const anchored = await clubos(["audit", "anchor"], cli);
    assert.equal(anchored.code, 0, anchored.out + anchored.err);
    assert.match(anchored.out, new RegExp(`Anchored entry ${head}:`));
    const intact = await clubos(["audit", "verify"], cli);
    assert.equal(intact.code, 0, intact.out + intact.err);
    assert.match(intact.out, /The audit log is intact/);

    // 7. Writes stay off: the recovered database is in the mode it had at T (normal). Then the data
    // checks, with the real command against the recovered server.
    const actor = ["--actor", "PITR drill"];
    const off = await clubos(
      ["mode", "set", "maintenance", ...actor, "--reason", "Recovered to a point in time; checking"],
      cli,
    );
    assert.equal(off.code, 0, off.out + off.err);
    const invariants = await clubos(["invariants", "check"], cli);
    assert.equal(invariants.code, 0, invariants.out + invariants.err);
    assert.match(invariants.out, /All \d+ invariant checks passed/);
    const amcheck = recovered.tryTool("pg_amcheck", [
      ...["-h", "127.0.0.1", "-p", String(recovered.port), "-U", "postgres"],
      ...["--all", "--install-missing", "--heapallindexed"],
    ]);
    assert.equal(amcheck.status, 0, amcheck.stdout + amcheck.stderr);
    assert.equal(amcheck.stdout.trim(), "", "pg_amcheck found no corruption");
    const recheck = await clubos(["audit", "verify"], cli);
    assert.equal(recheck.code, 0, recheck.out + recheck.err);

    const on = await clubos(["mode", "set", "normal", ...actor, "--reason", "Recovery checked"], cli);
    assert.equal(on.code, 0, on.out + on.err);
    assert.match((await clubos(["mode", "show"], cli)).out, /mode: normal/);

    t.diagnostic(`drill (backup to checks) took ${Date.now() - started} ms`);
  });

  test("[G01] without the archived WAL, the base backup alone loses every write after it: the archive is what recovers them", async () => {
    assert.ok(preTarget.emails.length > 0, "the drill ran first");
    const alone = await makeCluster({ from: base });
    clusters.push(alone);
    alone.start(); // no recovery.signal: crash recovery to the end of the backup, as a plain restore does
    const emails = (await query<{ email: string }>(alone.url("clubos"), "SELECT email FROM members")).map(
      (r) => r.email,
    );
    assert.ok(
      emails.some((e) => e.startsWith("base-")),
      "the base backup's rows are there",
    );
    for (const email of preTarget.emails) assert.ok(!emails.includes(email), `${email} is lost without WAL`);
    alone.stop("immediate");
  });

  test("[G01] pg_verifybackup refuses a base backup with one flipped byte", () => {
    const copy = source.mkdir("base-flipped");
    fs.cpSync(base, copy, { recursive: true });
    giveToPostgres(copy);
    const file = path.join(copy, "global", "pg_control");
    const bytes = fs.readFileSync(file);
    bytes[100] = bytes[100]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    const result = source.tryTool("pg_verifybackup", ["--no-parse-wal", copy]);
    assert.notEqual(result.status, 0, result.stdout);
    assert.match(result.stderr, /checksum mismatch for file "global\/pg_control"/);
    fs.rmSync(copy, { recursive: true, force: true });
  });
});

forEachEngine("WAL archive status where nothing archives", (engine) => {
  const t = suiteApp(engine);

  test("the embedded database says not applicable; a server with archive_mode off says not configured; /admin/system shows it", async () => {
    const app = t.get();
    const status = await walArchiveStatus(app.runtime.database);
    if (engine === "pglite") assert.equal(status.state, "not_applicable");
    else {
      const { archive_mode } = await queryOne<{ archive_mode: string }>(SERVER_URL, "SHOW archive_mode");
      // This machine's server does not archive; a CI server that did would report archiving or failing.
      if (archive_mode === "off")
        assert.deepEqual(status, { state: "not_configured", detail: "archive_mode is off" });
      else
        assert.ok(["archiving", "failing", "not_configured"].includes(status.state), JSON.stringify(status));
    }
    const { token } = await tokenMember(app.runtime, ["member", "operator"]);
    const page = await fetch(`${app.baseUrl}/admin/system`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const html = await page.text();
    assert.equal(page.status, 200);
    if (engine === "pglite") assert.match(html, /WAL archiving: not applicable \(embedded database/);
    else if (status.state === "not_configured") assert.match(html, /WAL archiving: not configured/);
    const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
    assert.match(metrics, /^clubos_wal_archive_age_seconds -1$/m, "no archive age to report");
  });
});
