import { CsrfField, FormToken, type PageContext } from "../../../http/page.tsx";
import { DataTable } from "../../../http/table.tsx";
import { CLUBOS_COLUMNS } from "./columns.ts";
import type { ImportOut, PlannedRowOut, ValuesOut } from "./import.schemas.ts";
import { MAX_FILE_NAME } from "./plan.ts";

const LABELS: Record<PlannedRowOut["outcome"], string> = {
  create: "create",
  update: "update",
  unchanged: "unchanged (skipped)",
  reject: "rejected",
};

/** The upload form; shows a file-level error above it and keeps what was pasted. */
export function ImportFormView(props: { page: PageContext; error?: string; csv?: string }) {
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
        <CsrfField page={props.page} />
        <FormToken />
        <label for="file_name">File name (for your records)</label>
        <input id="file_name" name="file_name" maxLength={MAX_FILE_NAME} />
        <label for="csv">CSV</label>
        <textarea id="csv" name="csv" rows={16} required>
          {props.csv ?? ""}
        </textarea>
        <button type="submit">Check the file</button>
      </form>
    </section>
  );
}

const FIELD_LABELS: Record<keyof ValuesOut, string> = {
  name: "name",
  status: "status",
  phone: "phone",
  address: "address",
  tierKey: "tier",
  joinedOn: "joined on",
  renewalDueOn: "renewal due on",
};

function changeText(row: PlannedRowOut): string {
  if (row.outcome === "reject") return row.reason ?? "";
  if (row.outcome === "unchanged") return "Already up to date.";
  return (Object.entries(row.changes ?? {}) as [keyof ValuesOut, string][])
    .map(([field, value]) =>
      row.outcome === "update"
        ? `${FIELD_LABELS[field]}: "${row.before?.[field] ?? ""}" → "${value}"`
        : `${FIELD_LABELS[field]}: ${value}`,
    )
    .join("; ");
}

function PlanTable({ rows }: { rows: PlannedRowOut[] }) {
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
function RetentionNote({ stored, days }: { stored: ImportOut; days: number }) {
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
      {stored.purgedAt.slice(0, 10)}. This summary is kept.
    </p>
  );
}

const TITLES: Record<ImportOut["status"], string> = {
  planned: "Check the import",
  applying: "Applying the import",
  applied: "Import applied",
  expired: "Import expired",
};

/** A dry run with its Confirm button, the result of an applied import, or what is left of an expired one. */
export function ImportPlanView(props: { page: PageContext; stored: ImportOut; retentionDays: number }) {
  const { page, stored } = props;
  const { result } = stored;
  const c = stored.counts;
  const changes = c.create + c.update;
  const total = c.create + c.update + c.unchanged + c.reject;
  return (
    <section>
      <h1>{TITLES[stored.status]}</h1>
      <p>
        {stored.fileName ? `${stored.fileName}: ` : ""}
        {total} rows: {c.create} to create, {c.update} to update, {c.unchanged} unchanged, {c.reject}{" "}
        rejected. Uploaded {stored.createdAt.slice(0, 16).replace("T", " ")} UTC.
      </p>
      {stored.ignoredColumns.length ? <p>Columns ignored: {stored.ignoredColumns.join(", ")}.</p> : null}
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
        <form method="post" action={`/admin/members/import/${stored.importId}/confirm`}>
          <CsrfField page={page} />
          <input type="hidden" name="file_hash" value={stored.fileHash} />
          <button type="submit">
            Confirm: create {c.create} and update {c.update} members
          </button>
        </form>
      )}
      <RetentionNote stored={stored} days={props.retentionDays} />
      {result || stored.purgedAt ? null : <PlanTable rows={stored.rows} />}
    </section>
  );
}

function ResultTable({ rows }: { rows: NonNullable<ImportOut["result"]>["rows"] }) {
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
  page: PageContext;
  stored: ImportOut;
  /** Applied by this server, still moving on another one, or stopped. */
  where: "here" | "elsewhere" | "stopped";
  stopReason?: string;
}) {
  const { stored } = props;
  const done = stored.rowsDone;
  const total = stored.rows.length;
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
        <form method="post" action={`/admin/members/import/${stored.importId}/resume`}>
          <CsrfField page={props.page} />
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
