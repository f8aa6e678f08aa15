import { renderMarkdown } from "../../http/markdown.ts";
import { CsrfField, FormToken, Notice, type PageContext } from "../../http/page.tsx";
import { DataTable } from "../../http/table.tsx";
import { MEMBER_STATUSES } from "./member-status.ts";

/** The form's fields as typed, kept across a preview. */
export interface AnnouncementDraft {
  subject: string;
  body: string;
  status: string;
  tier: string;
  committee: string;
  event: string;
}

/** Who the audience reaches, shown before sending. */
export interface AudienceCount {
  label: string;
  total: number;
  recipients: number;
  optedOut: number;
  undeliverable: number;
}

interface Choices {
  tiers: { key: string; name: string }[];
  committees: { id: string; name: string }[];
  events: { id: string; title: string; starts_at: Date }[];
}

const day = (d: Date) => new Date(d).toISOString().slice(0, 10);

/** Writing an announcement: the message (Markdown), the audience, then a preview with the recipient
 * count, and only then the send button. */
export function AnnouncementFormView(props: {
  page: PageContext;
  draft: AnnouncementDraft;
  choices: Choices;
  count?: AudienceCount;
  error?: string;
}) {
  const { draft, choices, count } = props;
  const select = (name: keyof AnnouncementDraft, label: string, options: [string, string][]) => (
    <>
      <label for={name}>{label}</label>
      <select id={name} name={name}>
        {options.map(([value, text]) => (
          <option value={value} selected={draft[name] === value} key={value}>
            {text}
          </option>
        ))}
      </select>
    </>
  );
  return (
    <section>
      <h1>New announcement</h1>
      <p>
        <a href="/admin/announcements">Sent announcements</a>
      </p>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <form method="get" action="/admin/announcements/new">
        <label for="subject">Subject</label>
        <input id="subject" name="subject" value={draft.subject} maxLength={200} required />
        <label for="body">Message (Markdown: *emphasis*, lists, links; HTML is shown as text)</label>
        <textarea id="body" name="body" rows={12} maxLength={20000} required>
          {draft.body}
        </textarea>
        <fieldset>
          <legend>Audience (members matching all of these)</legend>
          {select("status", "Status", [
            ...MEMBER_STATUSES.map((s) => [s, s] as [string, string]),
            ["any", "any status"],
          ])}
          {select("tier", "Tier", [
            ["", "any tier"],
            ...choices.tiers.map((t) => [t.key, t.name] as [string, string]),
          ])}
          {select("committee", "Committee", [
            ["", "any (no committee needed)"],
            ...choices.committees.map((c) => [c.id, c.name] as [string, string]),
          ])}
          {select("event", "Registered for event", [
            ["", "any (no registration needed)"],
            ...choices.events.map((e) => [e.id, `${e.title} (${day(e.starts_at)})`] as [string, string]),
          ])}
        </fieldset>
        <button type="submit">Preview and count recipients</button>
      </form>
      {count ? <AnnouncementPreview page={props.page} draft={draft} count={count} /> : null}
    </section>
  );
}

function AnnouncementPreview(props: { page: PageContext; draft: AnnouncementDraft; count: AudienceCount }) {
  const { draft, count } = props;
  return (
    <section aria-labelledby="preview-heading">
      <h2 id="preview-heading">Preview</h2>
      <p data-recipients={count.recipients}>
        Audience: {count.label}. {count.total} member{count.total === 1 ? "" : "s"}; it goes to{" "}
        <strong>{count.recipients}</strong>. Skipped: {count.optedOut} who turned announcements off,{" "}
        {count.undeliverable} whose address the mail server refused.
      </p>
      <article class="announcement-preview">
        <h3>{draft.subject}</h3>
        {/* The events renderer: raw HTML escaped, only http(s) and mailto links. */}
        <div dangerouslySetInnerHTML={{ __html: renderMarkdown(draft.body) }} />
        <p>
          <small>Each message ends with a link that turns announcements off for its member.</small>
        </p>
      </article>
      {count.recipients > 0 ? (
        <form method="post" action="/admin/announcements">
          <CsrfField page={props.page} />
          <FormToken />
          {/* What was previewed is what is sent (a hidden field keeps the message's line breaks). */}
          {(Object.keys(draft) as (keyof AnnouncementDraft)[]).map((k) => (
            <input type="hidden" name={k} value={draft[k]} key={k} />
          ))}
          <button type="submit">
            Send to {count.recipients} member{count.recipients === 1 ? "" : "s"}
          </button>
        </form>
      ) : (
        <p>Nobody in this audience can receive it; choose a wider audience.</p>
      )}
    </section>
  );
}

/** One sent announcement with what became of its messages. */
export interface AnnouncementRow {
  id: string;
  subject: string;
  audience_label: string;
  sent_by: string;
  created_at: Date;
  total: number;
  queued: number;
  held: number;
  sent: number;
  failed: number;
  skipped_opted_out: number;
  skipped_undeliverable: number;
}

const utc = (d: Date) => new Date(d).toISOString().replace("T", " ").slice(0, 16);

/** The announcements sent, newest first, with their counts read from the outbox. */
export function AnnouncementHistoryView(props: { rows: AnnouncementRow[]; notice?: string }) {
  const sending = props.rows.some((r) => r.queued > 0);
  return (
    <section>
      <h1>Announcements</h1>
      <Notice text={props.notice} />
      <p>
        <a href="/admin/announcements/new">Write an announcement</a>
      </p>
      {sending ? (
        <p role="status">
          Messages are still going out; this page refreshes every 10 seconds while any are queued.
        </p>
      ) : null}
      <DataTable
        label="Sent announcements"
        caption="Newest first. Queued: waiting to be sent; held: kept in the local mailbox (no mail server); failed: dead letters (see the outbox)."
        rows={props.rows}
        rowKey={(r) => r.id}
        columns={[
          { heading: "Sent (UTC)", cell: (r) => utc(r.created_at) },
          { heading: "Subject", cell: (r) => r.subject },
          { heading: "Audience", cell: (r) => r.audience_label },
          { heading: "Queued", cell: (r) => String(r.queued) },
          { heading: "Sent", cell: (r) => `${r.sent} of ${r.total}` },
          { heading: "Held", cell: (r) => String(r.held) },
          { heading: "Failed", cell: (r) => String(r.failed) },
          {
            heading: "Skipped",
            cell: (r) =>
              `${r.skipped_opted_out + r.skipped_undeliverable} (${r.skipped_opted_out} opted out, ${r.skipped_undeliverable} undeliverable)`,
          },
          { heading: "By", cell: (r) => r.sent_by },
        ]}
      />
    </section>
  );
}

/** The page behind an announcement's unsubscribe link: one button (a link a mail scanner opens must
 * not unsubscribe anyone; the one-click POST of RFC 8058 does). */
export function UnsubscribeView(props: {
  page: PageContext;
  name: string;
  action: string;
  alreadyOff: boolean;
}) {
  return (
    <section>
      <h1>Stop announcements</h1>
      {props.alreadyOff ? (
        <p>
          Announcements are already off for {props.name}. You still receive mail about your own registrations
          and membership.
        </p>
      ) : (
        <>
          <p>
            {props.name}, press the button to stop receiving the club's announcements. You will still receive
            mail about your own registrations and membership. You can turn announcements back on under "My
            details".
          </p>
          <form method="post" action={props.action}>
            <CsrfField page={props.page} />
            <input type="hidden" name="List-Unsubscribe" value="One-Click" />
            <button type="submit">Stop announcements</button>
          </form>
        </>
      )}
    </section>
  );
}

/** After unsubscribing. */
export function UnsubscribedView() {
  return (
    <section>
      <h1>Announcements are off</h1>
      <p role="status">
        You will no longer receive the club's announcements. Mail about your own registrations and membership
        still comes. You can turn announcements back on under "My details".
      </p>
    </section>
  );
}

/** A link that names nobody: the same page whatever the reason. */
export function UnsubscribeDeadView() {
  return (
    <section>
      <h1>This link does not work</h1>
      <p>
        This unsubscribe link is not known (it may be mistyped, or the member record was removed). Sign in and
        turn announcements off under "My details", or ask the club.
      </p>
    </section>
  );
}
