import type { JobProgress } from "../../core/job-progress.ts";
import { CsrfField, type PageContext } from "../../http/page.tsx";
import { DataTable } from "../../http/table.tsx";
import { type BackupOut, type BackupOverview, humanAge, humanBytes } from "./backups.presenters.ts";
import { BACKUP_JOBS, type BackupJobName } from "./backups.schemas.ts";

/** A backup's drill state in words: trusted only after a passing drill (B-3). */
function DrillCell({ b }: { b: BackupOut }) {
  if (b.drill.state === "passed") return <>trusted (drill passed {b.drill.at})</>;
  if (b.drill.state === "failed")
    return <strong class="error">drill FAILED {b.drill.at}: do not rely on it</strong>;
  return <strong>UNTRUSTED: no drill yet</strong>;
}

/** The backup folder and each copy, with the copy's verification. */
function LocationsCell({ b }: { b: BackupOut }) {
  return (
    <ul>
      <li>{b.locations[0]}</li>
      {b.copies.map((c) => (
        <li key={c.location}>
          {c.kind} copy {c.location}: {c.ok ? "verified" : <strong class="error">copy FAILED</strong>}
        </li>
      ))}
    </ul>
  );
}

/** One job's latest run: running (with its step), interrupted, or how it ended. */
function RunLine({ job, run }: { job: BackupJobName; run: JobProgress | undefined }) {
  const name = BACKUP_JOBS[job];
  if (!run) return <p>No {name} has run since this server's records began.</p>;
  const started = `started ${run.startedAt.toISOString()} by ${run.triggeredBy}`;
  if (run.running)
    return (
      <p class="notice" role="status" data-running={job}>
        A {name} is running ({started}): {run.step}
      </p>
    );
  if (run.interrupted)
    return (
      <p class="error">
        The last {name} did not finish ({started}); it stopped at "{run.step}". Start it again.
      </p>
    );
  return (
    <p class={run.outcome === "ok" ? undefined : "error"}>
      Last {name} {run.outcome === "ok" ? "succeeded" : "FAILED"} ({started}, finished{" "}
      {run.finishedAt?.toISOString()}): {run.detail ?? ""}
    </p>
  );
}

/** The backups section of the operator pages: warnings, the state of the newest good backup and drill,
 * what is running, the start buttons, and every backup with where it is and whether it is trusted. */
export function BackupsView({
  page,
  overview,
  runs,
  keyWarning,
}: {
  page: PageContext;
  overview: BackupOverview;
  runs: JobProgress[];
  keyWarning: string | null;
}) {
  const run = (job: BackupJobName) => runs.find((r) => r.job === job);
  const { lastGood, lastDrill } = overview;
  return (
    <section>
      <h1>Backups</h1>
      {page.actor.capabilities.has("system:operate") ? (
        <p>
          <a href="/admin/system">Mode and kill switches</a>
        </p>
      ) : null}
      {keyWarning ? (
        <p class="error" role="alert" id="backup-key-warning">
          {keyWarning}
        </p>
      ) : null}
      <dl>
        <dt>Last good backup</dt>
        <dd id="last-good-backup">
          {lastGood ? (
            `${lastGood.id}, ${humanAge(lastGood.ageSeconds)} old`
          ) : (
            <strong class="error">none: there is no good backup</strong>
          )}
        </dd>
        <dt>Last restore drill</dt>
        <dd id="last-drill">
          {lastDrill ? (
            `${lastDrill.ok ? "passed" : "FAILED"} for ${lastDrill.id}, ${humanAge(lastDrill.ageSeconds)} ago`
          ) : (
            <strong class="error">none: no backup is trusted yet</strong>
          )}
        </dd>
      </dl>
      <h2>Run now</h2>
      {(Object.keys(BACKUP_JOBS) as BackupJobName[]).map((job) => (
        <div key={job}>
          <RunLine job={job} run={run(job)} />
          {run(job)?.running ? null : (
            <form method="post" action="/admin/system/backups/run">
              <CsrfField page={page} />
              <input type="hidden" name="job" value={job} />
              <button type="submit">
                {job === "backup" ? "Take a backup now" : "Drill the newest backup now"}
              </button>
            </form>
          )}
        </div>
      ))}
      <h2>Every backup</h2>
      {overview.backups.length === 0 ? <p>There are no backups yet.</p> : null}
      <DataTable
        label="Backups"
        caption="Newest first"
        rows={overview.backups}
        rowKey={(b) => b.id}
        rowAttrs={(b) => ({ "data-backup": b.id, "data-drill": b.drill.state })}
        columns={[
          { heading: "Backup", cell: (b) => b.id },
          { heading: "Size", cell: (b) => humanBytes(b.bytes) },
          { heading: "Age", cell: (b) => humanAge(b.ageSeconds) },
          { heading: "Where", cell: (b) => <LocationsCell b={b} /> },
          {
            heading: "Checksums",
            cell: (b) =>
              b.checksum.state === "failed" ? <strong class="error">FAILED</strong> : b.checksum.state,
          },
          { heading: "Drill", cell: (b) => <DrillCell b={b} /> },
          { heading: "Encrypted", cell: (b) => (b.encrypted ? "yes" : <strong>NO</strong>) },
        ]}
      />
    </section>
  );
}
