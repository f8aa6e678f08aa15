import { localInputValue } from "../../http/local-time.ts";
import { CsrfField, FormToken, Notice, type PageContext } from "../../http/page.tsx";
import { DataTable } from "../../http/table.tsx";
import { formatWhen } from "./events.views.tsx";

type AdminEvent = {
  id: string;
  title: string;
  description: string;
  location: string;
  starts_at: Date;
  ends_at: Date;
  capacity: number;
  registration_opens_at: Date | null;
  registration_closes_at: Date | null;
  audience: string;
  status: string;
  version: number;
};

/** A registration as the admin page lists it, with the member's name. */
export type AdminRegistration = {
  id: string;
  status: string;
  waitlist_position: number | null;
  guest_names: string[];
  checked_in_at: Date | null;
  no_show: boolean;
  member_name: string;
  member_email: string;
};

/** A small form with one button, as used in tables and the status bar. */
function ActionButton(props: { page: PageContext; action: string; label: string }) {
  return (
    <form method="post" action={props.action} class="inline">
      <CsrfField page={props.page} />
      <FormToken />
      <button type="submit">{props.label}</button>
    </form>
  );
}

/** Seats from the tally; null when the event has no tally row (the invariant check reports that). */
const seatsText = (e: { seats: number | null; waiting: number | null; capacity: number }) =>
  e.seats === null
    ? `not counted, of ${e.capacity}`
    : `${e.seats} of ${e.capacity}${e.waiting ? `, ${e.waiting} waiting` : ""}`;

/** The events one manages, drafts included: every event, or (for a committee chair, `chaired` naming
 * their committees) their committees' events only. */
export function AdminEventList(props: {
  events: (AdminEvent & { committee_name: string | null; seats: number | null; waiting: number | null })[];
  chaired?: string[];
  timeZone: string;
}) {
  return (
    <section>
      <h1>Events</h1>
      {props.chaired ? <p>The events of the committees you chair: {props.chaired.join(", ")}.</p> : null}
      <p>
        <a href="/admin/events/new">Create an event</a>
      </p>
      <DataTable
        label="Events"
        rows={props.events}
        rowKey={(e) => e.id}
        columns={[
          { heading: "Event", cell: (e) => <a href={`/admin/events/${e.id}`}>{e.title}</a> },
          { heading: "Committee", cell: (e) => e.committee_name ?? "none" },
          { heading: "Starts", cell: (e) => formatWhen(e.starts_at, props.timeZone) },
          { heading: "Status", cell: (e) => e.status },
          { heading: "Audience", cell: (e) => (e.audience === "members" ? "members only" : "public") },
          { heading: "Seats", cell: seatsText },
        ]}
      />
    </section>
  );
}

/** The committees a new event may be created for; allowNone adds "No committee" (events:manage only). */
export type CommitteeChoices = { committees: { id: string; name: string }[]; allowNone: boolean };

/** The committee picker of the create form. The server checks the choice again (createEvent). */
function CommitteePicker({ choices }: { choices: CommitteeChoices }) {
  return (
    <>
      <label for="committeeId">Committee (its chairs can manage the event)</label>
      <select id="committeeId" name="committeeId" required={!choices.allowNone}>
        {choices.allowNone ? <option value="">No committee</option> : null}
        {choices.committees.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
    </>
  );
}

/** The create or edit form; an edit carries the version it was read at (W-4), a new event its committee. */
export function EventForm(props: {
  page: PageContext;
  event?: AdminEvent;
  choices?: CommitteeChoices;
  timeZone: string;
}) {
  const e = props.event;
  const tz = props.timeZone;
  return (
    <form method="post" action={e ? `/admin/events/${e.id}` : "/admin/events"}>
      <CsrfField page={props.page} />
      <FormToken />
      {e ? <input type="hidden" name="version" value={String(e.version)} /> : null}
      {!e && props.choices ? <CommitteePicker choices={props.choices} /> : null}
      <label for="title">Title</label>
      <input id="title" name="title" required maxLength={200} value={e?.title ?? ""} />
      <label for="description">Description (Markdown: **bold**, *italic*, lists, links)</label>
      <textarea id="description" name="description" rows={8}>
        {e?.description ?? ""}
      </textarea>
      <label for="location">Location</label>
      <input id="location" name="location" maxLength={500} value={e?.location ?? ""} />
      <label for="startsAt">Starts ({tz})</label>
      <input
        id="startsAt"
        name="startsAt"
        type="datetime-local"
        required
        value={localInputValue(e?.starts_at ?? null, tz)}
      />
      <label for="endsAt">Ends ({tz})</label>
      <input
        id="endsAt"
        name="endsAt"
        type="datetime-local"
        required
        value={localInputValue(e?.ends_at ?? null, tz)}
      />
      <label for="capacity">Places (guests count too)</label>
      <input id="capacity" name="capacity" type="number" min={0} required value={String(e?.capacity ?? 20)} />
      <label for="registrationOpensAt">Registration opens (optional)</label>
      <input
        id="registrationOpensAt"
        name="registrationOpensAt"
        type="datetime-local"
        value={localInputValue(e?.registration_opens_at ?? null, tz)}
      />
      <label for="registrationClosesAt">Registration closes (optional)</label>
      <input
        id="registrationClosesAt"
        name="registrationClosesAt"
        type="datetime-local"
        value={localInputValue(e?.registration_closes_at ?? null, tz)}
      />
      <label for="audience">Who can see it</label>
      <select id="audience" name="audience">
        <option value="members">Members only</option>
        <option value="public" selected={e?.audience === "public"}>
          Everyone
        </option>
      </select>
      <button type="submit">{e ? "Save changes" : "Create draft"}</button>
    </form>
  );
}

function Registrations(props: { page: PageContext; rows: AdminRegistration[]; timeZone: string }) {
  const confirmed = props.rows.filter((r) => r.status === "confirmed");
  const who = (r: AdminRegistration) =>
    `${r.member_name}${r.guest_names.length ? ` (+${r.guest_names.length}: ${r.guest_names.join(", ")})` : ""}`;
  return (
    <>
      <h2>Confirmed ({confirmed.length})</h2>
      <DataTable
        label="Confirmed registrations"
        rows={confirmed}
        rowKey={(r) => r.id}
        columns={[
          { heading: "Member", cell: who },
          { heading: "Email", cell: (r) => r.member_email },
          {
            heading: "Attendance",
            cell: (r) =>
              r.checked_in_at
                ? `checked in ${formatWhen(r.checked_in_at, props.timeZone)}`
                : r.no_show
                  ? "no-show"
                  : "not yet",
          },
          {
            heading: "Record",
            cell: (r) => (
              <>
                {r.checked_in_at ? null : (
                  <ActionButton
                    page={props.page}
                    action={`/admin/registrations/${r.id}/check-in`}
                    label={`Check in ${r.member_name}`}
                  />
                )}{" "}
                {r.checked_in_at || r.no_show ? null : (
                  <ActionButton
                    page={props.page}
                    action={`/admin/registrations/${r.id}/no-show`}
                    label={`No-show: ${r.member_name}`}
                  />
                )}
              </>
            ),
          },
        ]}
      />
      <h2>Waitlist, in order</h2>
      <ol>
        {props.rows
          .filter((r) => r.status === "waitlisted")
          .map((r) => (
            <li key={r.id}>
              {who(r)} · {r.member_email}
            </li>
          ))}
      </ol>
    </>
  );
}

/** One event for those who manage it: edit form, status buttons, registrations and waitlist. */
export function AdminEventView(props: {
  page: PageContext;
  event: AdminEvent;
  counts: { seats: number; waiting: number };
  registrations: AdminRegistration[];
  timeZone: string;
  notice?: string;
}) {
  const { event, page } = props;
  const editable = event.status === "draft" || event.status === "published";
  return (
    <section>
      <h1>{event.title}</h1>
      <Notice text={props.notice} />
      <p>
        Status: <strong>{event.status}</strong> · {props.counts.seats} of {event.capacity} places taken
        {props.counts.waiting ? `, ${props.counts.waiting} waiting` : ""} ·{" "}
        <a href={`/events/${event.id}`}>public page</a>
      </p>
      {event.status === "draft" ? (
        <ActionButton page={page} action={`/admin/events/${event.id}/publish`} label="Publish" />
      ) : null}
      {event.status === "published" && new Date(event.starts_at) <= new Date() ? (
        <ActionButton page={page} action={`/admin/events/${event.id}/complete`} label="Mark completed" />
      ) : null}
      {editable ? <EventForm page={page} event={event} timeZone={props.timeZone} /> : null}
      {editable ? (
        <form method="post" action={`/admin/events/${event.id}/cancel`}>
          <CsrfField page={page} />
          <FormToken />
          <h2>Cancel the event</h2>
          <p>Every registration is cancelled and each member gets an email.</p>
          <label for="cancel-reason">Reason (included in the email)</label>
          <input id="cancel-reason" name="reason" maxLength={500} />
          <button type="submit">Cancel this event</button>
        </form>
      ) : null}
      <Registrations page={page} rows={props.registrations} timeZone={props.timeZone} />
    </section>
  );
}
