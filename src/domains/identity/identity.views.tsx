import { CsrfField, Notice, type PageContext } from "../../http/page.tsx";

/** The login form; shows a problem and keeps the email when there is one. */
export function LoginView({
  page,
  error,
  email,
  next,
  notice,
}: {
  page: PageContext;
  error?: string;
  email?: string;
  next?: string;
  notice?: string;
}) {
  return (
    <section>
      <h1>Log in</h1>
      <Notice text={notice} />
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <form method="post" action="/login">
        {/* Someone already signed in posts with a live session, which the CSRF guard checks. */}
        <CsrfField page={page} />
        <input type="hidden" name="next" value={next ?? "/"} />
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required value={email ?? ""} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit">Log in</button>
      </form>
      <p>
        <a href="/password-reset">Forgot your password?</a>
      </p>
    </section>
  );
}

/** The change-password form. */
export function PasswordView({
  page,
  error,
  forced,
}: {
  page: PageContext;
  error?: string;
  forced?: boolean;
}) {
  return (
    <section>
      <h1>Change your password</h1>
      {forced ? (
        <p class="notice">You signed in with a one-time password. Choose your own password to continue.</p>
      ) : null}
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <form method="post" action="/account/password">
        <CsrfField page={page} />
        <label for="current">Current password</label>
        <input id="current" name="current" type="password" autocomplete="current-password" required />
        <label for="password">New password (at least 12 characters, not a common one)</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="new-password"
          required
          minLength={12}
        />
        <label for="confirm">New password again</label>
        <input id="confirm" name="confirm" type="password" autocomplete="new-password" required />
        <button type="submit">Change password</button>
      </form>
    </section>
  );
}
