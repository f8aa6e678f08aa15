import type { CheckResult } from "../../core/invariants.ts";
import { CsrfField, FormToken, Notice, type PageContext } from "../../http/page.tsx";
import { DataTable } from "../../http/table.tsx";
import { AREA_LABELS, AREAS, type Area, SEVERITIES } from "./incidents.repository.ts";

const utc = (d: Date | string | null) =>
  d ? `${new Date(d).toISOString().replace("T", " ").slice(0, 16)} UTC` : "";
const areaLabel = (area: string | null) => (area ? AREA_LABELS[area as Area] : "none");

/** A red "No owner" in words, not only in colour. */
function NoOwner({ detail }: { detail?: string }) {
  return (
    <strong class="no-owner" style="color:#a4161a">
      ⚠ No owner{detail ? ` (${detail})` : ""}
    </strong>
  );
}

function MemberLink({ id, name }: { id: string | null; name: string | null }) {
  return id && name ? <a href={`/admin/members/${id}`}>{name}</a> : null;
}

type IncidentRow = {
  id: string;
  number: number;
  severity: string;
  title: string;
  area: string | null;
  status: string;
  opened_at: Date;
  closed_at: Date | null;
  owner_id: string | null;
  owner_name: string | null;
};

type OwnerRow = {
  area: Area;
  label: string;
  active: boolean;
  owner: { member_id: string; name: string; email: string } | null;
};

type ScanRun = {
  id: string;
  finished_at: Date;
  actor: string;
  ok: boolean;
  checks: number;
  failed: CheckResult[];
};

/** The list of incidents, the form to declare one, the owners and the latest invariant scan. */
export function IncidentsView(props: {
  page: PageContext;
  incidents: IncidentRow[];
  owners: OwnerRow[];
  scan: ScanRun | undefined;
  degradedWithoutIncident: boolean;
  notice?: string;
}) {
  const { page } = props;
  return (
    <section>
      <h1>Incidents</h1>
      <Notice text={props.notice} />
      {props.degradedWithoutIncident ? (
        <p class="error" role="alert">
          The site is degraded (read-only, maintenance or a kill switch) and no incident is open. Open one
          below and say why: every change of mode is then recorded on it as a decision.
        </p>
      ) : null}
      <DataTable
        label="Incidents"
        caption="Open first, then the newest"
        rows={props.incidents}
        rowKey={(i) => i.id}
        columns={[
          { heading: "Incident", cell: (i) => <a href={`/admin/incidents/${i.id}`}>INC-{i.number}</a> },
          { heading: "Severity", cell: (i) => i.severity },
          { heading: "Status", cell: (i) => i.status },
          { heading: "Title", cell: (i) => i.title },
          { heading: "Area", cell: (i) => areaLabel(i.area) },
          {
            heading: "Goes to",
            cell: (i) =>
              i.area ? i.owner_name ? <MemberLink id={i.owner_id} name={i.owner_name} /> : <NoOwner /> : "",
          },
          { heading: "Opened", cell: (i) => utc(i.opened_at) },
          { heading: "Closed", cell: (i) => utc(i.closed_at) },
        ]}
      />
      {props.incidents.length === 0 ? <p>No incident has been recorded.</p> : null}

      <h2>Declare an incident</h2>
      <form method="post" action="/admin/incidents">
        <CsrfField page={page} />
        <FormToken />
        <label for="severity">Severity</label>
        <select id="severity" name="severity">
          {SEVERITIES.map((s) => (
            <option value={s} key={s}>
              {s}
              {s === "SEV-1"
                ? ": corruption, loss, security breach or the whole site down"
                : s === "SEV-2"
                  ? ": admin down, publishing blocked or many members affected"
                  : ": one feature degraded"}
            </option>
          ))}
        </select>
        <label for="title">What is wrong (one line)</label>
        <input id="title" name="title" required maxLength={200} />
        <label for="area">Area</label>
        <select id="area" name="area">
          <option value="">none</option>
          {AREAS.map((a) => (
            <option value={a} key={a}>
              {AREA_LABELS[a]}
            </option>
          ))}
        </select>
        <label for="note">First note (what you saw, when)</label>
        <textarea id="note" name="note" rows={3} />
        <p>
          <input type="checkbox" id="read-only" name="stopWrites" value="true" style="width:auto" />{" "}
          <label for="read-only" style="display:inline">
            Also stop all writes now (read-only mode). Only an operator can turn it off again.
          </label>
        </p>
        <button type="submit">Declare incident</button>
      </form>

      <h2>Owners of the critical areas</h2>
      <p>Incidents in an area go to its owner. Every area needs one.</p>
      <DataTable
        label="Area owners"
        caption="One owner per area"
        rows={props.owners}
        rowKey={(o) => o.area}
        columns={[
          { heading: "Area", cell: (o) => o.label },
          {
            heading: "Owner",
            cell: (o) =>
              o.active && o.owner ? (
                <MemberLink id={o.owner.member_id} name={o.owner.name} />
              ) : (
                <NoOwner detail={o.owner ? `${o.owner.name} is no longer an active member` : undefined} />
              ),
          },
        ]}
      />
      <form method="post" action="/admin/incidents/owners">
        <CsrfField page={page} />
        <FormToken />
        <label for="owner-area">Area</label>
        <select id="owner-area" name="area">
          {AREAS.map((a) => (
            <option value={a} key={a}>
              {AREA_LABELS[a]}
            </option>
          ))}
        </select>
        <label for="owner-email">Owner's email address (a current member)</label>
        <input id="owner-email" name="email" type="email" required />
        <button type="submit">Name owner</button>
      </form>

      <ScanSection scan={props.scan} />
    </section>
  );
}

/** Which rows break which rule, from the latest invariant scan. */
function ScanSection({ scan }: { scan: ScanRun | undefined }) {
  if (!scan)
    return (
      <>
        <h2>Latest invariant scan</h2>
        <p>No scan has run yet. It runs every hour; `clubos invariants check` runs one now.</p>
      </>
    );
  const rows = scan.failed.flatMap((c) =>
    c.error
      ? [{ key: `${c.id}-error`, check: c, subject: "(the check could not run)", detail: c.error }]
      : c.sample.map((v, n) => ({
          key: `${c.id}-${n}`,
          check: c,
          subject: `${v.subject_type} ${v.subject_id}`,
          detail: v.detail,
        })),
  );
  return (
    <>
      <h2>Latest invariant scan</h2>
      <p>
        {utc(scan.finished_at)} by {scan.actor}: {scan.checks} checks,{" "}
        {scan.ok ? "all passed." : <strong>{scan.failed.length} failed. Nothing was repaired.</strong>}
      </p>
      {scan.ok ? null : (
        <DataTable
          label="Rows that break a rule"
          caption="Up to 100 rows per check; the count is exact"
          rows={rows}
          rowKey={(r) => r.key}
          columns={[
            {
              heading: "Check",
              cell: (r) => `${r.check.id} (${r.check.rule}): ${r.check.violations} row(s)`,
            },
            { heading: "Rule", cell: (r) => r.check.description },
            { heading: "Row", cell: (r) => r.subject },
            { heading: "What is wrong", cell: (r) => r.detail },
          ]}
        />
      )}
    </>
  );
}

type Entry = {
  id: string;
  kind: string;
  actor: string;
  at: Date;
  action: string | null;
  text: string;
  member_id: string | null;
  member_name: string | null;
};

/** One incident: what, who it goes to, its timeline, and the forms to note, decide and close. */
export function IncidentView(props: {
  page: PageContext;
  incident: {
    id: string;
    number: number;
    severity: string;
    title: string;
    area: string | null;
    status: string;
    opened_by: string;
    opened_at: Date;
    closed_by: string | null;
    closed_at: Date | null;
    review: string | null;
    owner_id: string | null;
    owner_name: string | null;
    owner_email: string | null;
  };
  entries: Entry[];
  notice?: string;
}) {
  const { page, incident: i } = props;
  const open = i.status === "open";
  const base = `/admin/incidents/${i.id}`;
  return (
    <section>
      <h1>
        INC-{i.number} ({i.severity}): {i.title}
      </h1>
      <p>
        <a href="/admin/incidents">All incidents</a>
      </p>
      <Notice text={props.notice} />
      <dl>
        <dt>Status</dt>
        <dd>{i.status}</dd>
        <dt>Area</dt>
        <dd>{areaLabel(i.area)}</dd>
        <dt>Goes to</dt>
        <dd>
          {!i.area ? (
            "no area chosen"
          ) : i.owner_name ? (
            <>
              <MemberLink id={i.owner_id} name={i.owner_name} /> ({i.owner_email}), owner of{" "}
              {areaLabel(i.area)}
            </>
          ) : (
            <NoOwner detail={`name an owner of ${areaLabel(i.area)} on the incidents page`} />
          )}
        </dd>
        <dt>Opened</dt>
        <dd>
          {utc(i.opened_at)} by {i.opened_by}
        </dd>
        {i.closed_at ? (
          <>
            <dt>Closed</dt>
            <dd>
              {utc(i.closed_at)} by {i.closed_by}
            </dd>
            <dt>Review</dt>
            <dd>{i.review ?? "(none)"}</dd>
          </>
        ) : null}
      </dl>
      <h2>Timeline</h2>
      {props.entries.length === 0 ? <p>Nothing recorded yet.</p> : null}
      <ol>
        {props.entries.map((e) => (
          <li key={e.id}>
            {utc(e.at)}, {e.member_name ? <MemberLink id={e.member_id} name={e.member_name} /> : e.actor}:{" "}
            <strong>{e.kind}</strong>
            {e.action ? ` (${e.action})` : ""}: <span style="white-space:pre-wrap">{e.text}</span>
          </li>
        ))}
      </ol>
      {open ? (
        <>
          <h2>Add a note</h2>
          <form method="post" action={`${base}/notes`}>
            <CsrfField page={page} />
            <FormToken />
            <label for="note-text">Note</label>
            <textarea id="note-text" name="text" rows={3} required />
            <button type="submit">Add note</button>
          </form>
          <h2>Record a decision</h2>
          <p>Mode and kill-switch changes are recorded here by themselves; record other decisions here.</p>
          <form method="post" action={`${base}/decisions`}>
            <CsrfField page={page} />
            <FormToken />
            <label for="decision-action">What was decided or done</label>
            <input id="decision-action" name="action" required maxLength={200} />
            <label for="decision-rationale">Why</label>
            <textarea id="decision-rationale" name="rationale" rows={2} required />
            <button type="submit">Record decision</button>
          </form>
          <h2>Close the incident</h2>
          <form method="post" action={`${base}/close`}>
            <CsrfField page={page} />
            <FormToken />
            <label for="review">
              Review{i.severity === "SEV-1" ? " (required for a SEV-1)" : ""}: what happened, who was
              affected, whether data is intact, follow-ups
            </label>
            <textarea id="review" name="review" rows={5} required={i.severity === "SEV-1"} />
            <button type="submit">Close incident</button>
          </form>
        </>
      ) : null}
    </section>
  );
}
