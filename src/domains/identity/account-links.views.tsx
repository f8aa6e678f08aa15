import { CsrfField, type PageContext } from "../../http/page.tsx";
import { clubDateTime } from "../../http/present.ts";
import { DataTable } from "../../http/table.tsx";
import type { LinkPurpose } from "./account-links.repository.ts";

/* Pages of single-use links: the form a link opens, the page of a link that no longer works, the forgot-
 * password form, and what an admin sees after sending a link. */

const TITLES: Record<LinkPurpose, string> = {
  invitation: "Choose your password",
  password_reset: "Choose a new password",
};

/** The form an open link shows: the member's new password, twice. */
export function SetPasswordView(props: {
  page: PageContext;
  purpose: LinkPurpose;
  name: string;
  email: string;
  action: string;
  error?: string;
}) {
  const invitation = props.purpose === "invitation";
  return (
    <section>
      <h1>{TITLES[props.purpose]}</h1>
      <p>
        {invitation
          ? `Welcome, ${props.name}. Choose a password to get your login; you will sign in with ${props.email}.`
          : `Choose a new password for ${props.email}. Every other place you are signed in will be signed out.`}
      </p>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <form method="post" action={props.action}>
        <CsrfField page={props.page} />
        <input type="hidden" name="username" value={props.email} />
        <label for="password">New password (at least 12 characters; a short sentence works well)</label>
        <input id="password" name="password" type="password" autocomplete="new-password" required />
        <label for="confirm">New password again</label>
        <input id="confirm" name="confirm" type="password" autocomplete="new-password" required />
        <button type="submit">{invitation ? "Set password" : "Set new password"}</button>
      </form>
    </section>
  );
}

/** A link that does not work, for whatever reason (used, expired, replaced, revoked, never existed):
 * one page, so trying tokens teaches nothing. */
export function LinkDeadView({ purpose, message }: { purpose: LinkPurpose; message: string }) {
  return (
    <section>
      <h1>
        {purpose === "invitation" ? "This invitation link no longer works" : "This link no longer works"}
      </h1>
      <p>{message}</p>
      <p>
        {purpose === "invitation" ? (
          <>
            If you already set your password, <a href="/login">sign in</a>.
          </>
        ) : (
          <>
            <a href="/password-reset">Ask for a new link</a> or <a href="/login">sign in</a>.
          </>
        )}
      </p>
    </section>
  );
}

/** "Forgot your password?": asks for the address; after sending, the same words whatever it was. */
export function ForgotPasswordView(props: { page: PageContext; asked?: boolean; minutes: number }) {
  return (
    <section>
      <h1>Forgot your password?</h1>
      {props.asked ? (
        <p class="notice" role="status">
          If this address belongs to a member with a login, a link to choose a new password is on its way to
          it. The link works for {props.minutes} minutes. Nothing arrived after a few minutes? Check your spam
          folder, or ask the club's membership administrator.
        </p>
      ) : (
        <p>Type the email address you sign in with; we will send it a link to choose a new password.</p>
      )}
      <form method="post" action="/password-reset">
        <CsrfField page={props.page} />
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required />
        <button type="submit">Send me a link</button>
      </form>
      <p>
        <a href="/login">Back to sign in</a>
      </p>
    </section>
  );
}

/** One link an admin sent (or, with no mail server, is shown once). */
export interface SentLink {
  memberId: string;
  name: string;
  email: string;
  expiresAt: Date;
  link?: string;
}

/** After an admin sends invitations or a reset: who got one, and, with no mail server, the links
 * themselves, shown this once. */
export function LinksSentView(props: {
  page: PageContext;
  purpose: LinkPurpose;
  sent: SentLink[];
  leftOut?: string[];
  back: string;
}) {
  const shown = props.sent.some((s) => s.link);
  const what = props.purpose === "invitation" ? "invitation" : "password-reset link";
  return (
    <section>
      <h1>{props.purpose === "invitation" ? "Invitations" : "Password reset"}</h1>
      {props.sent.length === 0 ? <p class="notice">Nobody was sent an {what}.</p> : null}
      {shown ? (
        <div class="notice warning" role="status">
          <p>
            <strong>Not sent: no mail server is configured.</strong> Give each person their link yourself (for
            example by a message only they read). This is the only time the link is shown: ClubOS keeps only a
            fingerprint of it. If a link is lost, send a new one (the old one then stops working).
          </p>
        </div>
      ) : props.sent.length > 0 ? (
        <p class="notice" role="status">
          Sent by mail: {props.sent.length} {props.sent.length === 1 ? what : `${what}s`}.
        </p>
      ) : null}
      {props.leftOut?.length ? (
        <ul>
          {props.leftOut.map((line) => (
            <li key={line}>{line}</li>
          ))}
        </ul>
      ) : null}
      {props.sent.length > 0 ? (
        <DataTable
          label={props.purpose === "invitation" ? "Invitations sent" : "Reset links sent"}
          rows={props.sent}
          rowKey={(s) => s.memberId}
          columns={[
            { heading: "Name", cell: (s) => <a href={`/admin/members/${s.memberId}`}>{s.name}</a> },
            { heading: "Email", cell: (s) => s.email },
            { heading: "Works until", cell: (s) => clubDateTime(s.expiresAt, props.page.timeZone) },
            ...(shown
              ? [
                  {
                    heading: "Link (shown once)",
                    cell: (s: SentLink) => <code class="secret-link">{s.link}</code>,
                  },
                ]
              : []),
          ]}
        />
      ) : null}
      <p>
        <a href={props.back}>Back</a>
      </p>
    </section>
  );
}
