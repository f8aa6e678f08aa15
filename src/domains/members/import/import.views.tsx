import type { FastifyRequest } from "fastify";
import { CsrfField, pageContext } from "../../../http/page.tsx";
import { DataTable } from "../../../http/table.tsx";
import { CLUBOS_COLUMNS } from "./columns.ts";
import type { StoredImport } from "./import.repository.ts";
import type { PlannedRow } from "./plan.ts";

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
        <CsrfField page={pageContext(props.request)} />
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
    <DataTable
      label="Planned rows"
      rows={rows}
      rowKey={(r) => r.line}
      rowAttrs={(r) => ({ "data-outcome": r.outcome })}
      columns={[
        { heading: "Line", cell: (r) => r.line },
        { heading: "Email", cell: (r) => r.email },
        { heading: "Outcome", cell: (r) => LABELS[r.outcome] },
        { heading: "Details", cell: (r) => changeText(r) },
      ]}
    />
  );
}

/** What retention does or did to this import's details: they are personal data, kept only for a while. */
function RetentionNote({ stored, days }: { stored: StoredImport; days: number }) {
  if (!stored.purgedAt)
    return (
      <p>
        The row-by-row details (names, emails, changes) are kept for {days} days after the upload, then
        removed; this summary stays.
      </p>
    );
  return (
    <p class="notice" role="status" data-purged="true">
      The row-by-row details of this import (names, emails, changes) were removed after {days} days, on{" "}
      {stored.purgedAt.toISOString().slice(0, 10)}. This summary is kept.
    </p>
  );
}

const TITLES: Record<StoredImport["status"], string> = {
  planned: "Check the import",
  applying: "Applying the import",
  applied: "Import applied",
  expired: "Import expired",
};

/** A dry run with its Confirm button, the result of an applied import, or what is left of an expired one. */
export function ImportPlanView(props: {
  request: FastifyRequest;
  stored: StoredImport;
  retentionDays: number;
}) {
  const { request, stored } = props;
  const { plan, result } = stored;
  const c = plan.counts;
  const changes = c.create + c.update;
  const total = c.create + c.update + c.unchanged + c.reject;
  return (
    <section>
      <h1>{TITLES[stored.status]}</h1>
      <p>
        {plan.fileName ? `${plan.fileName}: ` : ""}
        {total} rows: {c.create} to create, {c.update} to update, {c.unchanged} unchanged, {c.reject}{" "}
        rejected. Uploaded {stored.createdAt.toISOString().slice(0, 16).replace("T", " ")} UTC.
      </p>
      {plan.ignoredColumns.length ? <p>Columns ignored: {plan.ignoredColumns.join(", ")}.</p> : null}
      {result ? (
        <>
          <p class="notice" role="status">
            Done: {result.counts.created} created, {result.counts.updated} updated, {result.counts.unchanged}{" "}
            unchanged, {result.counts.conflict} not applied because they changed meanwhile,{" "}
            {result.counts.failed} failed.
          </p>
          {stored.purgedAt ? null : <ResultTable rows={result.rows} />}
        </>
      ) : stored.status === "expired" ? (
        <p class="error" role="alert">
          {stored.rowsDone > 0
            ? `This import stopped after ${stored.rowsDone} of ${total} rows and was not resumed; the rows applied are kept with their audit entries.`
            : "This dry run was never confirmed, so nothing of it was imported."}{" "}
          It can no longer be applied: <a href="/admin/members/import">upload the file again</a>.
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
          <CsrfField page={pageContext(request)} />
          <input type="hidden" name="file_hash" value={plan.fileHash} />
          <button type="submit">
            Confirm: create {c.create} and update {c.update} members
          </button>
        </form>
      )}
      <RetentionNote stored={stored} days={props.retentionDays} />
      {result || stored.purgedAt ? null : <PlanTable rows={plan.rows} />}
    </section>
  );
}

function ResultTable({ rows }: { rows: NonNullable<StoredImport["result"]>["rows"] }) {
  return (
    <DataTable
      label="Rows applied"
      rows={rows.filter((r) => r.outcome !== "unchanged")}
      rowKey={(r) => r.line}
      rowAttrs={(r) => ({ "data-result": r.outcome })}
      columns={[
        { heading: "Line", cell: (r) => r.line },
        { heading: "Email", cell: (r) => r.email },
        { heading: "Result", cell: (r) => r.outcome },
        { heading: "Details", cell: (r) => r.message ?? "" },
      ]}
    />
  );
}

/** An import being applied: how far it got, from the database. While this process applies it the page
 * reloads itself every two seconds; if it was cut off (a restart, an error), it offers Resume. */
export function ImportProgressView(props: {
  request: FastifyRequest;
  stored: StoredImport;
  /** Applied by this server, still moving on another one, or stopped. */
  where: "here" | "elsewhere" | "stopped";
  stopReason?: string;
}) {
  const { stored } = props;
  const done = stored.rowsDone;
  const total = stored.plan.rows.length;
  if (props.where === "stopped") {
    return (
      <section>
        <h1>The import stopped</h1>
        <p class="error" role="alert">
          The import stopped after {done} of {total} rows
          {props.stopReason ? `: ${props.stopReason}` : " (the server was restarted while it ran)"}. The rows
          already applied are kept with their audit entries.
        </p>
        <p>Resume applies the remaining rows; the rows already applied are not applied again.</p>
        <form method="post" action={`/admin/members/import/${stored.id}/resume`}>
          <CsrfField page={pageContext(props.request)} />
          <button type="submit">Resume: apply the remaining {total - done} rows</button>
        </form>
      </section>
    );
  }
  return (
    <section>
      <h1>Applying the import</h1>
      <p role="status">
        {done} of {total} rows applied.
      </p>
      <progress max={total} value={done} aria-label="Rows applied">
        {done} of {total}
      </progress>
      {props.where === "elsewhere" ? (
        <p>
          Another ClubOS server is applying this import. This page refreshes by itself; if the import stops
          moving for a minute, it will offer to resume it.
        </p>
      ) : (
        <p>This page refreshes by itself until the import is done.</p>
      )}
    </section>
  );
}
