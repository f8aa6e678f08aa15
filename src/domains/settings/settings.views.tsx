import { CsrfField, FormToken, Notice, type PageContext } from "../../http/page.tsx";

const DONE = {
  join_form_opened: "The join form is open: anyone can apply at /join.",
  join_form_closed: "The join form is closed: /join shows “page not found”.",
} as const;

/** The club's settings admins change: for now, whether people can apply to join online. */
export function SettingsView(props: { page: PageContext; joinFormOpen: boolean; done?: keyof typeof DONE }) {
  return (
    <section>
      <h1>Club settings</h1>
      <Notice text={props.done ? DONE[props.done] : undefined} />
      <h2>Online join form</h2>
      <p>
        {props.joinFormOpen
          ? "Open: anyone can apply to join at /join. Applications wait for you under “Join applications”."
          : "Closed: nobody can apply online. Open it to let people apply at /join; you approve each application."}
      </p>
      <form method="post" action="/admin/settings/join-form">
        <CsrfField page={props.page} />
        <FormToken />
        <input type="hidden" name="open" value={props.joinFormOpen ? "off" : "on"} />
        <button type="submit">{props.joinFormOpen ? "Close the join form" : "Open the join form"}</button>
      </form>
      <p>
        <a href="/admin/join-applications">Join applications</a>
      </p>
    </section>
  );
}
