import type { ComponentChildren } from "preact";
import type { MailDependency } from "../../http/context.ts";
import { CsrfField, type PageContext } from "../../http/page.tsx";
import { DataTable } from "../../http/table.tsx";
import { HELD_NOTE, type MailQueueStats, OUTBOX_STATUSES } from "./outbox.repository.ts";

type Message = {
  id: string;
  topic: string;
  recipient: string | null;
  subject: string | null;
  status: string;
  created_at: Date;
};

/** A status as admins read it: held messages say plainly that they were not sent. */
const statusText = (status: string) =>
  status === "held" ? `held (${HELD_NOTE})` : status === "dead" ? "dead letter" : status;

/** The mail dependency in one paragraph (G11): the server, the breaker, the queue, the last error. Shown
 * on the outbox page and the admin home; a warning whenever mail is not flowing. */
export function MailStatusLine(props: { mail: MailDependency | undefined; stats: MailQueueStats }) {
  const { mail, stats } = props;
  const breaker = mail?.breaker() ?? "unknown in this process";
  const oldest = stats.oldestWaitingAt
    ? `, the oldest for ${Math.round((Date.now() - stats.oldestWaitingAt.getTime()) / 60_000)} min`
    : "";
  const warn = !mail?.configured || breaker !== "closed" || stats.dead > 0;
  return (
    <div class={warn ? "notice warning" : "notice"} role="status" data-mail-breaker={breaker}>
      <p>
        Mail:{" "}
        {mail?.configured
          ? `sending through the configured mail server; circuit breaker ${breaker}${breaker === "open" ? " (the mail server failed repeatedly: messages wait and go out when it recovers; nothing else is affected)" : ""}.`
          : `no mail server configured (SMTP_URL): messages are kept in the local mailbox below, ${HELD_NOTE}.`}{" "}
        {stats.waiting} waiting{oldest}; {stats.dead} dead letter{stats.dead === 1 ? "" : "s"}; {stats.held}{" "}
        in the local mailbox.
        {stats.lastError ? ` Last error (${utc(stats.lastErrorAt)} UTC): ${stats.lastError}` : ""}
      </p>
    </div>
  );
}

const utc = (d: Date | null) => (d ? new Date(d).toISOString().replace("T", " ").slice(0, 19) : "");

/** The latest outbox messages, newest first. */
export function OutboxList(props: {
  messages: Message[];
  filter: { status?: string; topic?: string };
  older?: string;
  status?: ComponentChildren;
}) {
  return (
    <section>
      <h1>Outbox</h1>
      <p>
        Messages written by actions: waiting, sent, held in the local mailbox, or dead-lettered (open one to
        retry it).
      </p>
      {props.status}
      <form method="get" action="/admin/outbox">
        <label for="topic">Topic (for example event.cancelled)</label>
        <input id="topic" name="topic" value={props.filter.topic ?? ""} />
        <label for="status">Status</label>
        <select id="status" name="status">
          <option value="">any</option>
          {OUTBOX_STATUSES.map((s) => (
            <option value={s} selected={props.filter.status === s} key={s}>
              {s}
            </option>
          ))}
        </select>
        <button type="submit">Filter</button>
      </form>
      <DataTable
        label="Outbox messages"
        caption="Newest first"
        rows={props.messages}
        rowKey={(m) => m.id}
        columns={[
          { heading: "Created (UTC)", cell: (m) => utc(m.created_at) },
          { heading: "Topic", cell: (m) => m.topic },
          { heading: "Recipient", cell: (m) => m.recipient ?? "" },
          {
            heading: "Subject",
            cell: (m) => <a href={`/admin/outbox/${m.id}`}>{m.subject || "(no subject)"}</a>,
          },
          { heading: "Status", cell: (m) => statusText(m.status) },
        ]}
      />
      {props.older ? <a href={props.older}>Older messages</a> : null}
    </section>
  );
}

/** One message as it will be (or was) sent. */
export function OutboxMessage(props: {
  page: PageContext;
  undeliverable?: string;
  message: Message & {
    message_id: string | null;
    sent_at: Date | null;
    smtp_response: string | null;
    body: string | null;
    payload: unknown;
    attempts: number;
    available_at: Date;
    last_error: string | null;
    audit_id: string;
    updated_at: Date;
  };
}) {
  const m = props.message;
  return (
    <section>
      <h1>{m.subject || "(no subject)"}</h1>
      <p>
        <a href="/admin/outbox">Back to the outbox</a>
      </p>
      <dl>
        <dt>Topic</dt>
        <dd>{m.topic}</dd>
        <dt>To</dt>
        <dd>
          {m.recipient ?? "(none)"}
          {props.undeliverable
            ? ` (undeliverable: the mail server refused it for good: ${props.undeliverable})`
            : ""}
        </dd>
        <dt>Status</dt>
        <dd>
          {statusText(m.status)}, {m.attempts} attempt{m.attempts === 1 ? "" : "s"}
          {m.last_error && m.last_error !== HELD_NOTE ? `; last error: ${m.last_error}` : ""}
        </dd>
        {m.sent_at ? (
          <>
            <dt>Accepted by the mail server (UTC)</dt>
            <dd>
              {utc(m.sent_at)}: {m.smtp_response ?? ""}
            </dd>
          </>
        ) : null}
        <dt>Message-ID</dt>
        <dd>{m.message_id ?? "(given at the first attempt)"}</dd>
        <dt>Created (UTC)</dt>
        <dd>{utc(m.created_at)}</dd>
        <dt>Next attempt not before (UTC)</dt>
        <dd>{utc(m.available_at)}</dd>
        <dt>Written by audit entry</dt>
        <dd>{m.audit_id}</dd>
      </dl>
      {["dead", "held", "failed"].includes(m.status) ? (
        <form method="post" action={`/admin/outbox/${m.id}/retry`}>
          <CsrfField page={props.page} />
          <button type="submit">Retry this message</button>
          {props.undeliverable ? " (also lifts the undeliverable mark on the address)" : ""}
        </form>
      ) : null}
      <h2>Body</h2>
      {/* Plain text, escaped like everything else on the page. */}
      <pre style="white-space:pre-wrap">{m.body ?? ""}</pre>
      <h2>Payload</h2>
      <pre style="white-space:pre-wrap">{JSON.stringify(m.payload, null, 2)}</pre>
    </section>
  );
}
