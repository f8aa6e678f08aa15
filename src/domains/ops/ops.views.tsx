import type { SystemState } from "../../core/modes.ts";
import type { DeployInfo } from "../../http/context.ts";
import { CsrfField, type PageContext } from "../../http/page.tsx";
import { DataTable } from "../../http/table.tsx";
import type { AuditFilter } from "./audit.repository.ts";
import type { IncidentRef } from "./incidents.repository.ts";
import { WalArchiveLine, type WalArchiveStatus } from "./wal-archive.views.tsx";

/** The mail dependency's figures on the admin home (G11). */
export interface MailHomeLine {
  configured: boolean;
  breaker: string;
  waiting: number;
  oldestWaitingAt: Date | null;
  dead: number;
  lastError: string | null;
}

/** The admin console's home: who is signed in, the mode, the running deploy, and the pages the actor
 * may open. */
export function AdminHome({
  page,
  state,
  deploy,
  mail,
}: {
  page: PageContext;
  state: SystemState | null;
  deploy: DeployInfo | null;
  mail?: MailHomeLine;
}) {
  const { actor } = page;
  const name = actor.type === "member" ? actor.name : "?";
  const canOperate = actor.capabilities.has("system:operate");
  const canAudit = actor.capabilities.has("audit:read");
  const canManageEvents = actor.capabilities.has("events:manage");
  const canIncidents = actor.capabilities.has("incidents:manage");
  return (
    <section>
      <h1>Admin</h1>
      <p>Signed in as {name}.</p>
      <h2>System</h2>
      <dl>
        <dt>Mode</dt>
        <dd>{state ? state.mode : "unreadable: writes are refused"}</dd>
        <dt>Running version</dt>
        <dd>
          {deploy
            ? `${deploy.version} (${deploy.gitCommit ?? "no commit recorded"}, ${deploy.changeClass}), started ${deploy.startedAt.toISOString()} on ${deploy.host}`
            : "not recorded"}
        </dd>
        <dt>Mail</dt>
        <dd data-mail-breaker={mail?.breaker}>
          {!mail
            ? "unknown: the queue cannot be read"
            : `${mail.configured ? `circuit breaker ${mail.breaker}` : "no mail server configured: messages are kept in the local mailbox, not sent"}; ${mail.waiting} waiting${mail.oldestWaitingAt ? ` (oldest since ${mail.oldestWaitingAt.toISOString()})` : ""}, ${mail.dead} dead letter${mail.dead === 1 ? "" : "s"}${mail.lastError ? `; last error: ${mail.lastError}` : ""}`}
        </dd>
      </dl>
      <ul>
        <li>
          <a href="/admin/members">Members</a>
        </li>
        {actor.capabilities.has("members:write") ? (
          <li>
            <a href="/admin/announcements">Announcements</a>
          </li>
        ) : null}
        <li>
          <a href={canManageEvents ? "/admin/events" : "/events"}>Events</a>
        </li>
        {actor.capabilities.has("pages:edit") ? (
          <li>
            <a href="/admin/pages">Pages and news</a>
          </li>
        ) : null}
        {actor.capabilities.has("members:write") ? (
          <>
            <li>
              <a href="/admin/join-applications">Join applications</a>
            </li>
            <li>
              <a href="/admin/settings">Club settings (online join form)</a>
            </li>
          </>
        ) : null}
        {canOperate ? (
          <li>
            <a href="/admin/system">Mode and kill switches</a>
          </li>
        ) : null}
        {canIncidents ? (
          <li>
            <a href="/admin/incidents">Incidents and area owners</a>
          </li>
        ) : null}
        {actor.capabilities.has("backups:operate") ? (
          <li>
            <a href="/admin/system/backups">Backups</a>
          </li>
        ) : null}
        {actor.capabilities.has("backups:restore") ? (
          <li>
            <a href="/admin/restore">Restore from a backup</a>
          </li>
        ) : null}
        {canAudit ? (
          <>
            <li>
              <a href="/admin/audit">Audit log</a>
            </li>
            <li>
              <a href="/admin/outbox">Outbox</a>
            </li>
          </>
        ) : null}
      </ul>
    </section>
  );
}

/** Where the page's changes are recorded (H-4), or the prompt to open an incident when none is open. */
function DecisionLog({ open, degraded }: { open: IncidentRef[]; degraded: boolean }) {
  if (open.length)
    return (
      <p class="notice">
        Every change here is recorded as a decision on{" "}
        {open.map((i, n) => (
          <>
            {n ? ", " : ""}
            <a href={`/admin/incidents/${i.id}`} key={i.id}>
              INC-{i.number} ({i.severity}) {i.title}
            </a>
          </>
        ))}
        .
      </p>
    );
  return (
    <p class={degraded ? "error" : "notice"} role={degraded ? "alert" : undefined}>
      No incident is open, so a change here is kept only in the audit log.{" "}
      {degraded ? "The site is not fully normal: " : "If something is wrong, "}
      <a href="/admin/incidents">open an incident</a> first, so that the changes are recorded on it as
      decisions.
    </p>
  );
}

/** The operator's mode and kill-switch page. */
export function SystemView({
  page,
  state,
  walArchive,
  openIncidents = [],
  leakAudit,
}: {
  page: PageContext;
  state: SystemState | null;
  walArchive: WalArchiveStatus;
  openIncidents?: IncidentRef[];
  /** The newest publishing leak audit; null before the first, undefined when it could not be read. */
  leakAudit?: { ranAt: Date; findings: number; responses: number } | null;
}) {
  const switches = state
    ? [
        { name: "admin_freeze", label: "Admin freeze", on: state.adminFreeze },
        { name: "publish_freeze", label: "Publishing freeze", on: state.publishFreeze },
        { name: "preview_off", label: "Previews off", on: state.previewOff },
      ]
    : [];
  return (
    <section>
      <h1>Mode and kill switches</h1>
      <p>
        Current mode: <strong>{state?.mode ?? "unreadable"}</strong>
        {state?.reason ? ` (reason: ${state.reason}, by ${state.changedBy})` : ""}
      </p>
      <DecisionLog open={openIncidents} degraded={Boolean(state?.degradedSince)} />
      <p id="leak-audit">
        Publishing leak audit:{" "}
        {leakAudit === undefined
          ? "its last result cannot be read now."
          : leakAudit === null
            ? "not run yet. Run clubos pages leak-audit."
            : leakAudit.findings === 0
              ? `no leak (${leakAudit.responses} responses checked, ${leakAudit.ranAt.toISOString()}).`
              : `LEAK: ${leakAudit.findings} finding(s) at ${leakAudit.ranAt.toISOString()}. Run clubos pages leak-audit for the list and follow the publishing-freeze runbook.`}
      </p>
      <p>
        <a href="/admin/incidents">Incidents and area owners</a> · <a href="/admin/system/backups">Backups</a>
      </p>
      <form method="post" action="/admin/system/mode">
        <CsrfField page={page} />
        <label for="mode">New mode</label>
        <select id="mode" name="mode">
          <option value="normal">normal</option>
          <option value="read-only">read-only</option>
          <option value="maintenance">maintenance</option>
        </select>
        <label for="mode-reason">Reason (shown to everyone)</label>
        <input id="mode-reason" name="reason" required />
        <button type="submit">Change mode</button>
      </form>
      <h2>Kill switches</h2>
      {switches.map((s) => (
        <form method="post" action="/admin/system/switch" key={s.name}>
          <CsrfField page={page} />
          <input type="hidden" name="name" value={s.name} />
          <input type="hidden" name="on" value={s.on ? "false" : "true"} />
          <label for={`reason-${s.name}`}>
            {s.label}: {s.on ? "on" : "off"}. Reason to turn it {s.on ? "off" : "on"}
          </label>
          <input id={`reason-${s.name}`} name="reason" required />
          <button type="submit">Turn {s.on ? "off" : "on"}</button>
        </form>
      ))}
      <WalArchiveLine status={walArchive} />
    </section>
  );
}

type Entry = {
  seq: number;
  occurred_at: Date;
  actor_type: string;
  actor_id: string;
  action: string;
  subject_type: string;
  subject_id: string;
  reason: string | null;
  actor_name: string | null;
  subject_name: string | null;
};

// Where a named subject's own page is, so a volunteer can follow an entry to what it changed.
const SUBJECT_PAGES: Record<string, string> = {
  member: "/admin/members/",
  event: "/admin/events/",
  committee: "/admin/committees/",
  incident: "/admin/incidents/",
};

function ActorCell({ e }: { e: Entry }) {
  if (!e.actor_name) return <>{e.actor_id}</>;
  return <a href={`/admin/members/${e.actor_id.slice("member:".length)}`}>{e.actor_name}</a>;
}

function SubjectCell({ e }: { e: Entry }) {
  const page = SUBJECT_PAGES[e.subject_type];
  if (!e.subject_name || !page) return <>{`${e.subject_type} ${e.subject_id}`}</>;
  return (
    <>
      {e.subject_type} <a href={`${page}${e.subject_id}`}>{e.subject_name}</a>
    </>
  );
}

/** The audit log with its filters. */
export function AuditView({ entries, filter }: { entries: Entry[]; filter: AuditFilter }) {
  const last = entries.at(-1);
  const params = new URLSearchParams(
    Object.entries({ ...filter, beforeSeq: last ? String(last.seq) : "" }).filter(([, v]) => v) as [
      string,
      string,
    ][],
  );
  return (
    <section>
      <h1>Audit log</h1>
      <form method="get" action="/admin/audit">
        <label for="actor">Actor contains</label>
        <input id="actor" name="actor" value={filter.actor ?? ""} />
        <label for="action">Action (for example role.granted)</label>
        <input id="action" name="action" value={filter.action ?? ""} />
        <label for="subject">Subject id</label>
        <input id="subject" name="subject" value={filter.subject ?? ""} />
        <label for="from">From (date)</label>
        <input id="from" name="from" type="date" value={filter.from ?? ""} />
        <label for="to">Before (date)</label>
        <input id="to" name="to" type="date" value={filter.to ?? ""} />
        <button type="submit">Filter</button>
      </form>
      <DataTable
        label="Audit entries"
        caption="Newest first"
        rows={entries}
        rowKey={(e) => e.seq}
        columns={[
          { heading: "#", cell: (e) => e.seq },
          {
            heading: "When (UTC)",
            cell: (e) => new Date(e.occurred_at).toISOString().replace("T", " ").slice(0, 19),
          },
          { heading: "Actor", cell: (e) => <ActorCell e={e} /> },
          { heading: "Action", cell: (e) => e.action },
          { heading: "Subject", cell: (e) => <SubjectCell e={e} /> },
          { heading: "Reason", cell: (e) => e.reason ?? "" },
        ]}
      />
      {entries.length === 50 ? <a href={`/admin/audit?${params}`}>Older entries</a> : null}
    </section>
  );
}
