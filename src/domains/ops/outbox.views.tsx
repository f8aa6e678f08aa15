import { DataTable } from "../../http/table.tsx";
import { OUTBOX_STATUSES } from "./outbox.repository.ts";

type Message = {
  id: string;
  topic: string;
  recipient: string | null;
  subject: string | null;
  status: string;
  created_at: Date;
};

const utc = (d: Date | null) => (d ? new Date(d).toISOString().replace("T", " ").slice(0, 19) : "");

/** The latest outbox messages, newest first. */
export function OutboxList(props: {
  messages: Message[];
  filter: { status?: string; topic?: string };
  older?: string;
}) {
  return (
    <section>
      <h1>Outbox</h1>
      <p>Messages written by actions, waiting to be sent or already sent. This page only reads.</p>
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
          { heading: "Status", cell: (m) => m.status },
        ]}
      />
      {props.older ? <a href={props.older}>Older messages</a> : null}
    </section>
  );
}

/** One message as it will be (or was) sent. */
export function OutboxMessage(props: {
  message: Message & {
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
        <dd>{m.recipient ?? "(none)"}</dd>
        <dt>Status</dt>
        <dd>
          {m.status}, {m.attempts} attempt{m.attempts === 1 ? "" : "s"}
          {m.last_error ? `; last error: ${m.last_error}` : ""}
        </dd>
        <dt>Created (UTC)</dt>
        <dd>{utc(m.created_at)}</dd>
        <dt>Next attempt not before (UTC)</dt>
        <dd>{utc(m.available_at)}</dd>
        <dt>Written by audit entry</dt>
        <dd>{m.audit_id}</dd>
      </dl>
      <h2>Body</h2>
      {/* Plain text, escaped like everything else on the page. */}
      <pre style="white-space:pre-wrap">{m.body ?? ""}</pre>
      <h2>Payload</h2>
      <pre style="white-space:pre-wrap">{JSON.stringify(m.payload, null, 2)}</pre>
    </section>
  );
}
