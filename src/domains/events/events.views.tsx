import { dateTimeFormat } from "../../core/time-format.ts";
import { renderMarkdown } from "../../http/markdown.ts";
import { CsrfField, FormToken, Notice, type PageContext } from "../../http/page.tsx";

type EventRow = {
  id: string;
  title: string;
  description: string;
  location: string;
  starts_at: Date;
  ends_at: Date;
  capacity: number;
  audience: string;
  status: string;
};
type Registration = { id: string; status: string; waitlist_position: number | null; guest_names: string[] };

/** Formats a time in the club's zone. */
export function formatWhen(date: Date, timeZone: string): string {
  return dateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone }).format(
    new Date(date),
  );
}

/** The list of events a visitor may see. */
export function EventList({
  events,
  timeZone,
}: {
  events: Pick<EventRow, "id" | "title" | "starts_at" | "status" | "audience">[];
  timeZone: string;
}) {
  return (
    <section>
      <h1>Events</h1>
      {events.length === 0 ? <p>No events are planned yet.</p> : null}
      <ul>
        {events.map((e) => (
          <li key={e.id}>
            <a href={`/events/${e.id}`}>{e.title}</a> · {formatWhen(e.starts_at, timeZone)}
            {e.status !== "published" ? ` · ${e.status}` : ""}
            {e.audience === "members" ? " · members only" : ""}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** One event, with the member's registration and the register or cancel form. */
export function EventPage(props: {
  page: PageContext;
  event: EventRow;
  counts: { seats: number; waiting: number };
  mine?: Registration;
  notice?: string;
}) {
  const { event, counts, mine, page } = props;
  const timeZone = page.timeZone;
  const canRegister = page.actor.capabilities.has("events:register");
  const free = Math.max(0, event.capacity - counts.seats);
  return (
    <article>
      <h1>{event.title}</h1>
      <Notice text={props.notice} />
      <p>
        {formatWhen(event.starts_at, timeZone)} to {formatWhen(event.ends_at, timeZone)}
        {event.location ? ` · ${event.location}` : ""} ·{" "}
        <a href={`/events/${event.id}.ics`}>Add to calendar</a>
      </p>
      {event.status !== "published" ? <p class="notice">This event is {event.status}.</p> : null}
      {/* The only raw HTML on the page: markdown.ts escapes HTML and allows http(s)/mailto links only. */}
      <div class="description" dangerouslySetInnerHTML={{ __html: renderMarkdown(event.description) }} />
      <p>
        {free} of {event.capacity} places free{counts.waiting ? `, ${counts.waiting} on the waitlist` : ""}.
      </p>
      {mine ? (
        <div>
          <p class="notice">
            {mine.status === "confirmed"
              ? "You have a confirmed place."
              : `You are on the waitlist at position ${mine.waitlist_position}.`}
            {mine.guest_names.length ? ` Guests: ${mine.guest_names.join(", ")}.` : ""}
          </p>
          <form method="post" action={`/registrations/${mine.id}/cancel`}>
            <CsrfField page={page} />
            <FormToken />
            <button type="submit">Cancel my registration</button>
          </form>
        </div>
      ) : canRegister && event.status === "published" ? (
        <form method="post" action={`/events/${event.id}/register`}>
          <CsrfField page={page} />
          <FormToken />
          <label for="guests">Guests (optional, one name per line, they count against the places)</label>
          <textarea id="guests" name="guests" rows={2} />
          <button type="submit">{free > 0 && counts.waiting === 0 ? "Register" : "Join the waitlist"}</button>
        </form>
      ) : page.actor.type === "anonymous" ? (
        <p>
          <a href={`/login?next=/events/${event.id}`}>Log in</a> to register.
        </p>
      ) : null}
    </article>
  );
}
