import { CsrfField, FormToken, Notice, type PageContext } from "../../http/page.tsx";

const DONE = {
  join_form_opened: "The join form is open: anyone can apply at /join.",
  join_form_closed: "The join form is closed: /join shows “page not found”.",
  tier_changed: "Saved: approved applications of that membership type now start as you chose.",
} as const;

/** The club's settings admins change: whether people can apply to join online, and how each tier's
 * approved applicants start. */
export function SettingsView(props: {
  page: PageContext;
  joinFormOpen: boolean;
  tiers: Array<{ key: string; name: string; joinStatus: string }>;
  done?: keyof typeof DONE;
}) {
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
      <h2>How approved applicants start</h2>
      <p>
        Pending: the member is on the list but has no member rights until you make them active (for example
        after a first payment). Active: they have the member rights at once.
      </p>
      {props.tiers.map((tier) => (
        <form method="post" action={`/admin/tiers/${tier.key}/join-status`}>
          <CsrfField page={props.page} />
          <FormToken />
          <label for={`tier-${tier.key}`}>{tier.name}</label>
          <select id={`tier-${tier.key}`} name="status">
            <option value="pending" selected={tier.joinStatus === "pending"}>
              Pending
            </option>
            <option value="active" selected={tier.joinStatus === "active"}>
              Active
            </option>
          </select>
          <button type="submit">Save for {tier.name}</button>
        </form>
      ))}
    </section>
  );
}
