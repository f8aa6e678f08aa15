import type { SystemState } from "../../core/modes.ts";
import type { DeployInfo } from "../../http/context.ts";
import { CsrfField, type PageContext } from "../../http/page.tsx";
import { DataTable } from "../../http/table.tsx";
import type { AuditFilter } from "./audit.repository.ts";
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
        <li>
          <a href={canManageEvents ? "/admin/events" : "/events"}>Events</a>
        </li>
        {canOperate ? (
          <li>
            <a href="/admin/system">Mode and kill switches</a>
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

/** The operator's mode and kill-switch page. */
export function SystemView({
  page,
  state,
  walArchive,
}: {
  page: PageContext;
  state: SystemState | null;
  walArchive: WalArchiveStatus;
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
  actor_id: string;
  action: string;
  subject_type: string;
  subject_id: string;
  reason: string | null;
};

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
          { heading: "Actor", cell: (e) => e.actor_id },
          { heading: "Action", cell: (e) => e.action },
          { heading: "Subject", cell: (e) => `${e.subject_type} ${e.subject_id}` },
          { heading: "Reason", cell: (e) => e.reason ?? "" },
        ]}
      />
      {entries.length === 50 ? <a href={`/admin/audit?${params}`}>Older entries</a> : null}
    </section>
  );
}
