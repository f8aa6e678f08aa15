import { CsrfField, FormToken, Notice, type PageContext } from "../../http/page.tsx";
import { clubDateTime } from "../../http/present.ts";

/* Pages of the join form: the application, the one "thank you" every application gets, the
 * confirmation link's page, and the admin queue. */

/** A tier to choose on the form. */
export interface TierChoice {
  key: string;
  name: string;
}

/** What the form had when it is shown again with an error. */
export interface JoinValues {
  name?: string;
  email?: string;
  phone?: string;
  tier?: string;
  message?: string;
}

/** The public application form. The honeypot field sits off screen, out of the tab order and hidden
 * from screen readers: a person never fills it, a bot filling every field does. */
export function JoinFormView(props: {
  page: PageContext;
  clubName: string;
  tiers: TierChoice[];
  values?: JoinValues;
  error?: string;
}) {
  const v = props.values ?? {};
  return (
    <section>
      <h1>Apply to join {props.clubName}</h1>
      <p>
        Fill in the form and we will send you an email to confirm your address. Once you confirm, the club
        looks at your application and writes to you.
      </p>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <form method="post" action="/join">
        <CsrfField page={props.page} />
        <label for="join-name">Your name</label>
        <input id="join-name" name="name" autocomplete="name" required value={v.name ?? ""} />
        <label for="join-email">Email</label>
        <input
          id="join-email"
          name="email"
          type="email"
          autocomplete="email"
          required
          value={v.email ?? ""}
        />
        <label for="join-phone">Phone (optional)</label>
        <input id="join-phone" name="phone" type="tel" autocomplete="tel" value={v.phone ?? ""} />
        <label for="join-tier">Membership type</label>
        <select id="join-tier" name="tier" required>
          {props.tiers.map((t) => (
            <option value={t.key} selected={t.key === v.tier}>
              {t.name}
            </option>
          ))}
        </select>
        <label for="join-message">A message to the club (optional)</label>
        <textarea id="join-message" name="message" rows={4}>
          {v.message ?? ""}
        </textarea>
        <div aria-hidden="true" style="position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden">
          <label for="join-website">Leave this field empty</label>
          <input id="join-website" name="website" tabindex={-1} autocomplete="off" />
        </div>
        <button type="submit">Apply</button>
      </form>
    </section>
  );
}

/** The answer to every application: new address, a member's address, or a bot's. */
export function JoinThanksView({ hours }: { hours: number }) {
  return (
    <section>
      <h1>Thank you for applying</h1>
      <p class="notice" role="status">
        We sent an email to the address you gave. Open the link in it within {hours} hours to confirm your
        address; then the club looks at your application and writes to you. Nothing arrived after a few
        minutes? Check your spam folder.
      </p>
    </section>
  );
}

/** The confirmation link's page: a button, so a mail scanner opening the link confirms nothing. */
export function ConfirmApplicationView(props: { page: PageContext; name: string; action: string }) {
  return (
    <section>
      <h1>Confirm your application</h1>
      <p>
        Hello {props.name}, confirm that this email address is yours to send your application to the club.
      </p>
      <form method="post" action={props.action}>
        <CsrfField page={props.page} />
        <button type="submit">Confirm my application</button>
      </form>
    </section>
  );
}

/** After confirming. */
export function ApplicationConfirmedView() {
  return (
    <section>
      <h1>Your application is confirmed</h1>
      <p class="notice" role="status">
        Thank you. The club will look at your application and write to you at this address.
      </p>
    </section>
  );
}

/** A confirmation link that does not work, for whatever reason. */
export function JoinLinkDeadView({ message }: { message: string }) {
  return (
    <section>
      <h1>This confirmation link no longer works</h1>
      <p>{message}</p>
      <p>
        <a href="/join">Apply again</a>
      </p>
    </section>
  );
}

/** One application waiting in the admin queue. */
export interface WaitingApplication {
  id: string;
  name: string;
  email: string;
  phone: string;
  message: string;
  confirmed_at: Date | null;
  tierName: string;
  joinStatus: string;
}

const DONE = { rejected: "The application was rejected; the applicant is told by mail." } as const;

/** The admin queue: confirmed applications, oldest first, each with approve and reject. */
export function JoinQueueView(props: {
  page: PageContext;
  applications: WaitingApplication[];
  formOpen: boolean;
  done?: keyof typeof DONE;
}) {
  return (
    <section>
      <h1>Join applications</h1>
      <Notice text={props.done ? DONE[props.done] : undefined} />
      <p>
        {props.formOpen ? "The join form is open." : "The join form is closed."}{" "}
        <a href="/admin/settings">Change this in the club settings</a>. Applications appear here once the
        applicant has confirmed their email address.
      </p>
      {props.applications.length === 0 ? (
        <p>No applications are waiting.</p>
      ) : (
        props.applications.map((a) => (
          <article>
            <h2>{a.name}</h2>
            <dl>
              <dt>Email</dt>
              <dd>{a.email}</dd>
              <dt>Phone</dt>
              <dd>{a.phone || "—"}</dd>
              <dt>Membership type</dt>
              <dd>
                {a.tierName} (approved members start {a.joinStatus})
              </dd>
              <dt>Confirmed</dt>
              <dd>{a.confirmed_at ? clubDateTime(a.confirmed_at, props.page.timeZone) : "—"}</dd>
              <dt>Message</dt>
              <dd>{a.message || "—"}</dd>
            </dl>
            <form method="post" action={`/admin/join-applications/${a.id}/approve`}>
              <CsrfField page={props.page} />
              <button type="submit">Approve {a.name}</button>
            </form>
            <form method="post" action={`/admin/join-applications/${a.id}/reject`}>
              <CsrfField page={props.page} />
              <FormToken />
              <label for={`reason-${a.id}`}>Reason for rejecting (sent to the applicant)</label>
              <input id={`reason-${a.id}`} name="reason" required />
              <button type="submit">Reject {a.name}</button>
            </form>
          </article>
        ))
      )}
    </section>
  );
}
