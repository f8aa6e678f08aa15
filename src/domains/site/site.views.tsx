import type { PageContext } from "../../http/page.tsx";

/** The public home page: a welcome, and after a password change a word about the other sessions. */
export function HomeView({
  page,
  clubName,
  passwordChanged,
}: {
  page: PageContext;
  clubName: string;
  passwordChanged: boolean;
}) {
  return (
    <section>
      <h1>Welcome to {clubName}</h1>
      {passwordChanged ? (
        <p class="notice">Your password was changed. Other sessions were signed out.</p>
      ) : null}
      {page.actor.type === "member" ? (
        <p>You are signed in as {page.actor.name}.</p>
      ) : (
        <p>
          Members can <a href="/login">log in</a> to see member pages and register for events.
        </p>
      )}
    </section>
  );
}
