import { CsrfField, type PageContext } from "../../http/page.tsx";

/** The calendar-feed part of the member's profile page: make or replace the personal address. */
export function FeedTokenSection(props: { page: PageContext; since?: Date }) {
  return (
    <section aria-labelledby="feed-heading">
      <h2 id="feed-heading">Calendar feed</h2>
      <p>
        Add the club's events to your calendar app. The public events are at{" "}
        <a href="/events.ics">/events.ics</a>; your personal address also lists members-only events, so keep
        it to yourself.
      </p>
      {props.since ? (
        <p>
          You made your personal address on {new Date(props.since).toISOString().slice(0, 10)}. Making a new
          one stops the old one working.
        </p>
      ) : null}
      <form method="post" action="/members/me/feed-token">
        <CsrfField page={props.page} />
        <button type="submit">
          {props.since ? "Replace my calendar address" : "Make my calendar address"}
        </button>
      </form>
    </section>
  );
}

/** Shown once, right after the address is made: the token is not stored and cannot be shown again. */
export function FeedTokenCreated({ url }: { url: string }) {
  return (
    <section>
      <h1>Your calendar address</h1>
      <p class="notice" role="status">
        Copy this address into your calendar app now (as a subscription). It is shown only this once; if you
        lose it, make a new one from <a href="/members/me">your details</a>.
      </p>
      <label for="feed-url">Your personal calendar address</label>
      <input id="feed-url" readOnly value={url} />
      <p>Anyone with this address can see the club's members-only events, so keep it private.</p>
    </section>
  );
}
