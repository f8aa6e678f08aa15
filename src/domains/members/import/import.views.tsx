import type { FastifyRequest } from "fastify";
import { CsrfField } from "../../../http/page.tsx";
import { CLUBOS_COLUMNS } from "./columns.ts";
import type { StoredImport } from "./import.repository.ts";
import type { PlannedRow } from "./plan.ts";
import type { ApplyProgress } from "./progress.ts";

const LABELS: Record<PlannedRow["outcome"], string> = {
  create: "create",
  update: "update",
  unchanged: "unchanged (skipped)",
  reject: "rejected",
};

/** The upload form; shows a file-level error above it and keeps what was pasted. */
export function ImportFormView(props: { request: FastifyRequest; error?: string; csv?: string }) {
  return (
    <section>
      <h1>Import members from CSV</h1>
      <p>
        Paste the contents of a CSV file saved as "CSV UTF-8". The first line names the columns: ClubOS's own
        ({CLUBOS_COLUMNS.join(", ")}) or those of a Wild Apricot contact export (First name, Last name, Email,
        Phone, Member since, Membership level, Membership status, Renewal due). Members are matched by email;
        empty cells leave a field as it is.
      </p>
      <p>Nothing is saved yet: the next page shows what would change, row by row, for you to confirm.</p>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <form method="post" action="/admin/members/import">
        <CsrfField request={props.request} />
        <label for="file_name">File name (for your records)</label>
        <input id="file_name" name="file_name" maxLength={200} />
        <label for="csv">CSV</label>
        <textarea id="csv" name="csv" rows={16} required>
          {props.csv ?? ""}
        </textarea>
        <button type="submit">Check the file</button>
      </form>
    </section>
  );
}

function changeText(row: PlannedRow): string {
  if (row.outcome === "reject") return row.reason ?? "";
  if (row.outcome === "unchanged") return "Already up to date.";
  return Object.entries(row.changes ?? {})
    .map(([field, value]) =>
      row.outcome === "update"
        ? `${field}: "${row.before?.[field as "name"] ?? ""}" → "${value}"`
        : `${field}: ${value}`,
    )
    .join("; ");
}

function PlanTable({ rows }: { rows: PlannedRow[] }) {
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">Line</th>
          <th scope="col">Email</th>
          <th scope="col">Outcome</th>
          <th scope="col">Details</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.line} data-outcome={r.outcome}>
            <td>{r.line}</td>
            <td>{r.email}</td>
            <td>{LABELS[r.outcome]}</td>
            <td>{changeText(r)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A dry run with its Confirm button, or the result of an applied import. */
export function ImportPlanView({ request, stored }: { request: FastifyRequest; stored: StoredImport }) {
  const { plan, result } = stored;
  const c = plan.counts;
  const changes = c.create + c.update;
  return (
    <section>
      <h1>{stored.status === "applied" ? "Import applied" : "Check the import"}</h1>
      <p>
        {plan.fileName ? `${plan.fileName}: ` : ""}
        {plan.rows.length} rows: {c.create} to create, {c.update} to update, {c.unchanged} unchanged,{" "}
        {c.reject} rejected.
      </p>
      {plan.ignoredColumns.length ? <p>Columns ignored: {plan.ignoredColumns.join(", ")}.</p> : null}
      {result ? (
        <>
          <p class="notice" role="status">
            Done: {result.counts.created} created, {result.counts.updated} updated, {result.counts.unchanged}{" "}
            unchanged, {result.counts.conflict} not applied because they changed meanwhile,{" "}
            {result.counts.failed} failed.
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Line</th>
                <th scope="col">Email</th>
                <th scope="col">Result</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {result.rows
                .filter((r) => r.outcome !== "unchanged")
                .map((r) => (
                  <tr key={r.line} data-result={r.outcome}>
                    <td>{r.line}</td>
                    <td>{r.email}</td>
                    <td>{r.outcome}</td>
                    <td>{r.message ?? ""}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </>
      ) : stored.status === "applying" ? (
        <p class="error" role="alert">
          This import is being applied, or stopped before it finished. Upload the file again to see what is
          left.
        </p>
      ) : c.reject > 0 ? (
        <p class="error" role="alert">
          Nothing can be imported while any row is rejected. Fix the rejected rows in the file and{" "}
          <a href="/admin/members/import">upload it again</a>.
        </p>
      ) : changes === 0 ? (
        <p class="notice" role="status">
          Every member is already up to date; there is nothing to import.
        </p>
      ) : (
        <form method="post" action={`/admin/members/import/${stored.id}/confirm`}>
          <CsrfField request={request} />
          <input type="hidden" name="file_hash" value={plan.fileHash} />
          <button type="submit">
            Confirm: create {c.create} and update {c.update} members
          </button>
        </form>
      )}
      {result ? null : <PlanTable rows={plan.rows} />}
    </section>
  );
}

/** A large import being applied: how far it got; the page reloads itself every two seconds. */
export function ImportProgressView({ progress }: { progress: ApplyProgress }) {
  return (
    <section>
      <h1>Applying the import</h1>
      {progress.error ? (
        <p class="error" role="alert">
          The import stopped after {progress.done} of {progress.total} rows: {progress.error}. The rows
          already applied are kept with their audit entries. Upload the file again to see what is left.
        </p>
      ) : (
        <>
          <p role="status">
            {progress.done} of {progress.total} rows applied.
          </p>
          <progress max={progress.total} value={progress.done} aria-label="Rows applied">
            {progress.done} of {progress.total}
          </progress>
          <p>This page refreshes by itself until the import is done.</p>
        </>
      )}
    </section>
  );
}
