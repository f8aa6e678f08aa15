import type { JobProgress } from "../../core/job-progress.ts";
import { CsrfField, Notice, type PageContext } from "../../http/page.tsx";
import { DataTable } from "../../http/table.tsx";
import { humanAge } from "./backups.presenters.ts";
import { OPEN_RESTORE } from "./restore.repository.ts";
import type { RestorableBackup } from "./restore.runner.ts";

type RestoreRow = {
  id: string;
  backup_id: string;
  status: string;
  started_by: string;
  started_at: Date;
  pre_restore_backup_id: string | null;
  incident_id: string | null;
  failure: string | null;
  signed_off_by: string | null;
  verification: unknown;
};

const utc = (d: Date | string | null) => (d ? new Date(d).toISOString().replace("T", " ").slice(0, 16) : "");

const STATUS_WORDS: Record<string, string> = {
  started: "under way: taking the pre-restore backup and loading",
  verifying: "under way: verifying the restored data",
  verified: "restored and verified: waiting for sign-off",
  verification_failed: "restored but FAILED verification: restore another backup",
  failed: "did not happen: nothing was changed",
  signed_off: "signed off: writes are on",
  superseded: "replaced by a later restore",
};

/** The latest restore's progress (job_progress): its current step while it runs, how it ended after. */
function Progress({ run }: { run: JobProgress }) {
  const started = `started ${utc(run.startedAt)} UTC by ${run.triggeredBy}`;
  if (run.running)
    return (
      <section aria-live="polite">
        <h2>A restore is running ({started})</h2>
        <p class="notice" role="status" data-running="restore">
          {run.step}
        </p>
        <p>This page reloads every few seconds until the restore is done.</p>
      </section>
    );
  if (run.interrupted)
    return (
      <section>
        <h2>The last restore did not finish ({started})</h2>
        <p class="error" role="alert">
          Its process stopped at "{run.step}". See the restores below and docs/runbooks/database-restore.md.
        </p>
      </section>
    );
  return (
    <section>
      <h2>
        The last restore {run.outcome === "ok" ? "finished" : "stopped"} ({started})
      </h2>
      <p class={run.outcome === "ok" ? "notice" : "error"} role="alert">
        {run.detail ?? ""}
      </p>
    </section>
  );
}

function SignOff({ page, open }: { page: PageContext; open: RestoreRow }) {
  return (
    <section>
      <h2>Sign off the restore of backup {open.backup_id}</h2>
      <p>
        Check the restored data first: the member list, recent events, whatever the problem was about. When
        the club has two or more full admins, someone other than the person who started the restore signs it
        off.
      </p>
      <form method="post" action="/admin/restore/sign-off">
        <CsrfField page={page} />
        <label for="signoff-note">What you checked (kept on the incident)</label>
        <input id="signoff-note" name="note" />
        <label for="signoff-checked">
          <input id="signoff-checked" type="checkbox" name="checked" value="yes" required /> I checked the
          restored data; writes may go on
        </label>
        <button type="submit">Sign off and turn writes back on</button>
      </form>
    </section>
  );
}

/** The restore page (full admins, operators): what is running, the restores so far, the sign-off of a
 * verified one, and the backups to restore from, each with its typed confirmation. */
export function RestoreView({
  page,
  run,
  restores,
  backups,
  notice,
}: {
  page: PageContext;
  run: JobProgress | null;
  restores: RestoreRow[];
  backups: RestorableBackup[];
  notice?: string;
}) {
  const open = restores.find((r) => (OPEN_RESTORE as readonly string[]).includes(r.status));
  return (
    <section>
      <h1>Restore from a backup</h1>
      <Notice text={notice} />
      <p>
        A restore replaces the club's data with a backup's. A backup of the current data is taken first, so
        nothing is lost; the site stays in maintenance mode (no changes, no mail) until the restored data is
        verified and someone signs it off. The restore ends every session, so everyone, you included, signs in
        again afterwards, and it revokes the unused invitation and password-reset links that come back with
        the backup: resend invitations afterwards. The steps are in the runbook
        docs/runbooks/database-restore.md.
      </p>
      {run ? <Progress run={run} /> : null}
      {open?.status === "verified" ? <SignOff page={page} open={open} /> : null}
      <h2>Restores</h2>
      {restores.length === 0 ? (
        <p>No restore has been made in this database.</p>
      ) : (
        <DataTable
          label="Restores"
          caption="Restores, newest first"
          rows={restores}
          rowKey={(r) => r.id}
          columns={[
            { heading: "Started", cell: (r) => utc(r.started_at) },
            { heading: "Backup", cell: (r) => r.backup_id },
            { heading: "State", cell: (r) => STATUS_WORDS[r.status] ?? r.status },
            { heading: "By", cell: (r) => r.started_by },
            { heading: "Pre-restore backup", cell: (r) => r.pre_restore_backup_id ?? "" },
            {
              heading: "Incident",
              cell: (r) =>
                r.incident_id ? <a href={`/admin/incidents/${r.incident_id}`}>confirmation</a> : "",
            },
            { heading: "Signed off by", cell: (r) => r.signed_off_by ?? r.failure ?? "" },
          ]}
        />
      )}
      <h2>Backups</h2>
      {backups.length === 0 ? (
        <p>There is no backup in the backup folder.</p>
      ) : (
        backups.map((b) => (
          <form method="post" action="/admin/restore" key={b.id}>
            <CsrfField page={page} />
            <h3>
              Backup {b.id}: {humanAge(b.ageSeconds)} old, {b.rows} rows,{" "}
              {b.drill === "passed"
                ? "drill passed"
                : b.drill === "failed"
                  ? "DRILL FAILED"
                  : "untrusted (never drilled)"}
            </h3>
            <input type="hidden" name="backupId" value={b.id} />
            <label for={`reason-${b.id}`}>Why restore it (shown to everyone during the restore)</label>
            <input id={`reason-${b.id}`} name="reason" required />
            <label for={`confirm-${b.id}`}>Type the backup id ({b.id}) to confirm</label>
            <input id={`confirm-${b.id}`} name="confirm" required autocomplete="off" />
            <button type="submit">Restore this backup</button>
          </form>
        ))
      )}
    </section>
  );
}
