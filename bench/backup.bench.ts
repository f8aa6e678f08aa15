/* `npm run bench:backup`: a club of 100,000 members, 20,000 events with registrations and 1,000,000
 * audit entries on PostgreSQL (in a database of the bench's own, seeded with set-based SQL), then
 * ClubOS's backup and restore beside `pg_dump -Fc` and `pg_restore` of the same database in the same
 * run: time and size, and their ratios (target: at most 1.0x pg_dump's and pg_restore's time), over
 * BENCH_REPEATS (default 3) pairs taken back to back in alternating order, the median ratio deciding.
 * BENCH_SCALE=0.05 runs a twentieth of the size (a check that it works, not a figure to quote).
 * BENCH_EMBEDDED=1 runs the embedded case instead (bench/lib/embedded-backup.ts): the club in a PGlite
 * data folder served by `clubos serve`, backup time, and the public events page's p50/p99 under
 * autocannon without a backup and while one runs (BENCH_EMBEDDED_SCALE sets its size, default
 * BENCH_SCALE). The seeded entries are sealed before the server starts, and the measuring starts once
 * the server's start-up jobs are done. */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { createBackup, type Manifest, restoreInto } from "../src/core/backup/index.ts";
import { readTableFile } from "../src/core/backup/table-file.ts";
import { connectPostgres } from "../src/core/db/connect.ts";
import { migrate } from "../src/core/db/migrate.ts";
import { bigClubSize, seedBigClub } from "./lib/big-club.ts";
import { measureEmbeddedBackup } from "./lib/embedded-backup.ts";
import { createBenchDatabase, median } from "./lib/harness.ts";
import { appendResults, machineDetails } from "./lib/report.ts";

const PGBIN = process.env.PG_BIN || "/usr/lib/postgresql/15/bin";
const serverUrl = process.env.BENCH_DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const size = bigClubSize();
const { scale, members, events, audit } = size;

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

/** The codec choice: the largest table's COPY text through gzip and brotli at a few levels. */
async function compareCodecs(dir: string, manifest: Manifest, key: Buffer): Promise<void> {
  const largest = [...manifest.tables].sort((a, b) => b.plaintextBytes - a.plaintextBytes)[0]!;
  const parts: Buffer[] = [];
  for await (const part of readTableFile(path.join(dir, largest.file), {
    key,
    label: largest.file,
    compression: manifest.compression,
  }))
    parts.push(part);
  const text = Buffer.concat(parts);
  console.log(`\ncodecs on ${largest.name} (${mb(text.length)} MB of COPY text):`);
  console.log("| codec | MB/s | ratio |");
  const codecs: Array<[string, (b: Buffer) => Buffer]> = [
    ["gzip 1", (b) => zlib.gzipSync(b, { level: 1 })],
    ["gzip 3", (b) => zlib.gzipSync(b, { level: 3 })],
    ["gzip 6", (b) => zlib.gzipSync(b, { level: 6 })],
    ["brotli 1", (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } })],
    ["brotli 4", (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })],
  ];
  for (const [name, codec] of codecs) {
    const t = performance.now();
    const out = codec(text);
    const ms = performance.now() - t;
    console.log(
      `| ${name} | ${(text.length / 1e3 / ms).toFixed(0)} | ${(text.length / out.length).toFixed(1)} |`,
    );
  }
}

/** One pair of timings, ClubOS beside PostgreSQL's own tool, taken back to back in an order that
 * alternates by repeat, so a change in the machine's load falls on both about equally. */
async function pair(
  repeat: number,
  ours: () => Promise<unknown>,
  theirs: () => Promise<unknown>,
): Promise<{ ours: number; theirs: number; load: string }> {
  const load = os.loadavg()[0]!.toFixed(1);
  if (repeat % 2 === 0) {
    const a = await timed(ours);
    const b = await timed(theirs);
    return { ours: a.ms, theirs: b.ms, load };
  }
  const b = await timed(theirs);
  const a = await timed(ours);
  return { ours: a.ms, theirs: b.ms, load };
}

async function main() {
  const repeats = Math.max(1, Number(process.env.BENCH_REPEATS || 3));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-bench-backup-"));
  const source = await createBenchDatabase(serverUrl);
  const db = connectPostgres(source.url, 4);
  const dropLater: { drop(): Promise<void> }[] = [];
  try {
    await migrate(db);
    console.log(`seeding ${members} members, ${events} events, ${audit} audit entries (scale ${scale})...`);
    const seeded = await timed(() => seedBigClub(source.url, size));
    console.log(`seeded in ${seconds(seeded.ms)} s`);

    const key = randomBytes(32);
    const dumpFile = path.join(work, "club.dump");
    let bundle: Awaited<ReturnType<typeof createBackup>> | undefined;
    const backups: Awaited<ReturnType<typeof pair>>[] = [];
    const restores: Awaited<ReturnType<typeof pair>>[] = [];
    for (let repeat = 0; repeat < repeats; repeat++) {
      backups.push(
        await pair(
          repeat,
          async () => {
            if (bundle) fs.rmSync(bundle.dir, { recursive: true, force: true });
            bundle = await createBackup(db, {
              backupDir: work,
              actor: "system:bench",
              appVersion: "bench",
              key,
            });
          },
          async () =>
            execFileSync(`${PGBIN}/pg_dump`, ["-Fc", "-f", dumpFile, source.url], { stdio: "inherit" }),
        ),
      );
      // Fresh, empty targets for both restores: ClubOS's migrated (it restores into the schema), pg_restore's
      // bare (it builds the schema itself).
      const ours = await createBenchDatabase(serverUrl);
      const theirs = await createBenchDatabase(serverUrl);
      dropLater.push(ours, theirs);
      const target = connectPostgres(ours.url, 2);
      try {
        await migrate(target);
        const made = bundle!;
        restores.push(
          await pair(
            repeat,
            () => restoreInto(target, made.dir, key),
            async () =>
              execFileSync(`${PGBIN}/pg_restore`, ["--no-owner", "-d", theirs.url, dumpFile], {
                stdio: "inherit",
              }),
          ),
        );
      } finally {
        await target.close();
      }
      await ours.drop();
      await theirs.drop();
      console.log(
        `repeat ${repeat + 1}: backup ${seconds(backups.at(-1)!.ours)} s vs ${seconds(backups.at(-1)!.theirs)} s, restore ${seconds(restores.at(-1)!.ours)} s vs ${seconds(restores.at(-1)!.theirs)} s`,
      );
    }
    const made = bundle!;
    const bundleBytes = made.manifest.tables.reduce((n, t) => n + t.storedBytes, 0);
    const dumpBytes = fs.statSync(dumpFile).size;
    const ratio = (p: { ours: number; theirs: number }) => p.ours / p.theirs;
    const row = (label: string, pairs: Awaited<ReturnType<typeof pair>>[]) =>
      pairs.map(
        (p, i) =>
          `| ${label} | ${i + 1} | ${p.load} | ${seconds(p.ours)} | ${seconds(p.theirs)} | ${ratio(p).toFixed(2)} |`,
      );
    const verdict = (what: string, pairs: Awaited<ReturnType<typeof pair>>[]) => {
      const m = median(pairs.map(ratio));
      const small = scale < 1 ? " (scale below 1: a check that it works, not a figure to quote)" : "";
      return `${what}: median ratio ${m.toFixed(2)} (target at most 1.0): ${m <= 1 ? "met" : "NOT met"}${small}.`;
    };
    const section = [
      `## bench:backup, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
      "",
      ...(await machineDetails(db)),
      `- Load average (1 min) at the end: ${os.loadavg()[0]!.toFixed(1)}`,
      `- Settings: scale ${scale} (${members} members, ${events} events, ${audit} audit entries), ${repeats} repeats, each pair back to back in alternating order; ClubOS: 3 COPY lanes, brotli quality 1, AES-256-GCM; restore: one transaction, tables of 250,000 rows or more loaded on lanes of their own and swapped in by it, keys and indexes built after the load (a staged table's over two connections), loaded bytes hashed and rows counted against the manifest (drills also read every table back); pg_dump/pg_restore: custom format, default compression, one job, pg_restore also builds the schema`,
      "",
      "| step | repeat | load at start | ClubOS (s) | pg_dump -Fc / pg_restore (s) | ratio |",
      "|---|---:|---:|---:|---:|---:|",
      ...row("backup", backups),
      ...row("restore", restores),
      "",
      `Size: ClubOS ${mb(bundleBytes)} MB, pg_dump -Fc ${mb(dumpBytes)} MB (${(bundleBytes / dumpBytes).toFixed(2)}).`,
      "",
      verdict("Backup", backups),
      verdict("Restore", restores),
    ].join("\n");
    console.log(`\n${section}`);
    await compareCodecs(made.dir, made.manifest, key);
    if (process.env.BENCH_RESULTS !== "0")
      appendResults(path.join(path.dirname(fileURLToPath(import.meta.url)), "RESULTS.md"), section);
  } finally {
    await db.close();
    for (const d of dropLater) await d.drop().catch(() => {});
    await source.drop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function embedded() {
  const embeddedSize = bigClubSize(Number(process.env.BENCH_EMBEDDED_SCALE || scale));
  console.log(
    `embedded: seeding ${embeddedSize.members} members, ${embeddedSize.events} events, ${embeddedSize.audit} audit entries in PGlite...`,
  );
  const r = await measureEmbeddedBackup(embeddedSize);
  console.log(`seeded in ${seconds(r.seedMs)} s, sealed into the audit chain in ${seconds(r.sealMs)} s`);
  console.log(
    `the server's start-up jobs (scan, backup, drill) were done ${seconds(r.settleMs)} s after it started`,
  );
  console.log(
    `\nbench:backup embedded, scale ${embeddedSize.scale}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load average ${os.loadavg()[0]?.toFixed(1)}`,
  );
  console.log(
    `backup alone: ${seconds(r.backupAloneMs)} s; under load: ${seconds(r.backupUnderLoadMs)} s; bundle ${mb(r.bundleBytes)} MB`,
  );
  console.log(
    `GET ${r.page}, ${r.connections} connections; baseline as long as the backup alone, "during" exactly as long as the backup under load:`,
  );
  console.log("| | requests | requests/s | p50 ms | p99 ms | max ms | non-2xx | errors (timeouts) |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const [name, l] of [
    ["no backup (baseline)", r.baseline],
    ["during a backup", r.during],
  ] as const)
    console.log(
      `| ${name} | ${l.requests} | ${l.perSecond.toFixed(0)} | ${l.p50} | ${l.p99} | ${l.max} | ${l.non2xx} | ${l.errors} (${l.timeouts}) |`,
    );
  console.log(`p99 during / baseline: ${(r.during.p99 / Math.max(1, r.baseline.p99)).toFixed(2)}`);
}

await (process.env.BENCH_EMBEDDED ? embedded() : main());
