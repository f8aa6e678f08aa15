/* `npm run bench:actions`: what chaining the audit log costs an audited action on PostgreSQL.
 * A = audit entry without chaining, B = the shipped design (shared advisory lock + AuditSealer after
 * commit), C = the rejected design (chain head locked FOR UPDATE inside each action). Each runs at
 * 1, 4 and 16 concurrent clients; runs are interleaved and repeated because the machine is shared,
 * and medians are reported. The target: B/A >= 0.8 at 16 clients. See bench/README.md. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sealAuditChain, verifyAuditChain } from "../src/core/audit-chain.ts";
import { connectPostgres } from "../src/core/db/connect.ts";
import { migrate } from "../src/core/db/migrate.ts";
import { createBenchDatabase, median, readSettings, runLoad } from "./lib/harness.ts";
import { interpret } from "./lib/interpret.ts";
import { appendResults, machineDetails, markdownTable, type RunRecord, record } from "./lib/report.ts";
import { actionFor, type SealStats, seedBenchDatabase, startVariant } from "./lib/variants.ts";

const settings = readSettings();
const VARIANTS = settings.variants;
const maxClients = Math.max(...settings.clients);
const server = await createBenchDatabase(settings.serverUrl);
// Two spare connections so B's sealer never waits behind the clients for a pool slot.
const database = connectPostgres(server.url, maxClients + 2);
const backupDir = fs.mkdtempSync(path.join(os.tmpdir(), "clubos-bench-"));

let cleaned = false;
async function cleanUp(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  await database.close().catch(() => {});
  await server.drop();
  fs.rmSync(backupDir, { recursive: true, force: true });
}
process.once("SIGINT", () => void cleanUp().finally(() => process.exit(130)));

try {
  await migrate(database);
  const memberIds = await seedBenchDatabase(database, maxClients);
  const machine = await machineDetails(database);
  const records: RunRecord[] = [];
  const seals: SealStats[] = [];
  const loads: number[] = []; // 1-minute load average at each run's start: how busy the shared machine was
  const perRun = (settings.warmupMs + settings.durationMs) / 1000;
  const total = settings.repeats * settings.clients.length * VARIANTS.length;
  console.log(`# ${total} runs of ${perRun}s (warm-up ${settings.warmupMs} ms + ${settings.durationMs} ms)`);
  for (let repeat = 0; repeat < settings.repeats; repeat++) {
    // Rotate the order each repeat so no variant always runs first (or right after another's load).
    const order = VARIANTS.map((_, i) => VARIANTS[(i + repeat) % VARIANTS.length]!);
    for (const clients of settings.clients) {
      for (const variant of order) {
        loads.push(os.loadavg()[0]!);
        const run = await startVariant(variant, database, backupDir);
        const result = await runLoad(
          clients,
          settings.warmupMs,
          settings.durationMs,
          actionFor(run, memberIds),
        );
        const seal = await run.finish();
        if (seal) seals.push(seal);
        const rec = record(variant, clients, repeat, result);
        records.push(rec);
        const note = seal ? `  sealer backlog ${seal.backlog}, drained in ${seal.drainMs} ms` : "";
        console.log(
          `repeat ${repeat + 1} ${variant} clients=${String(clients).padStart(2)} ${rec.perSecond.toFixed(0).padStart(6)}/s` +
            `  p50 ${rec.p50.toFixed(2)} ms  p99 ${rec.p99.toFixed(2)} ms${note}`,
        );
      }
    }
  }

  // Everything written (A and C entries are sealed by the untimed catch-up) must form a valid chain.
  await sealAuditChain(database, backupDir);
  const verify = await verifyAuditChain(database, backupDir);
  if (!verify.ok || verify.pending !== 0 || verify.sealed !== verify.entries) {
    throw new Error(
      `Audit chain check failed: ${JSON.stringify({ ...verify, problems: verify.problems.slice(0, 5) })}`,
    );
  }
  const verdict = `verifyAuditChain ok: ${verify.entries} entries, all sealed, ${verify.anchorsChecked} anchors checked`;

  const table = markdownTable(records, settings.clients, VARIANTS);
  const interpretation = interpret(records, settings.clients, VARIANTS, seals, verdict);
  const loadLine = `- Load average (1 min) at run starts: min ${Math.min(...loads).toFixed(1)}, median ${median(
    loads,
  ).toFixed(1)}, max ${Math.max(...loads).toFixed(1)} (other work shares the machine)`;

  const stamp = new Date().toISOString().replace("T", " ").slice(0, 16);
  const section = [
    `## ${stamp} UTC — bench:actions`,
    "",
    `${settings.repeats} interleaved repeats × ${settings.durationMs / 1000} s (after ${settings.warmupMs / 1000} s ` +
      "warm-up) per variant and client count; medians over repeats. Latency is per action, end to end in the client.",
    "",
    ...machine,
    loadLine,
    "",
    table,
    "",
    ...interpretation,
  ].join("\n");
  console.log(`\n${section}\n`);
  if (settings.writeResults) {
    const file = path.join(path.dirname(fileURLToPath(import.meta.url)), "RESULTS.md");
    appendResults(file, section);
    console.log(`Appended to ${file}`);
  }
} finally {
  await cleanUp();
}
