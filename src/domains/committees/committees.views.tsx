import { CsrfField, FormToken, Notice, type PageContext } from "../../http/page.tsx";
import { clubDateTime } from "../../http/present.ts";

type Committee = { id: string; name: string; current_members: number };
type Term = {
  id: string;
  member_name: string;
  member_email: string;
  role: string;
  starts_at: Date;
  ends_at: Date | null;
  granted_by: string;
  ended_by: string | null;
  state: "current" | "upcoming" | "ended";
};

/** The committee list with a create form for those who may write. */
export function CommitteeListView(props: { page: PageContext; committees: Committee[]; canWrite: boolean }) {
  return (
    <section>
      <h1>Committees</h1>
      <table>
        <thead>
          <tr>
            <th scope="col">Committee</th>
            <th scope="col">Serving now</th>
          </tr>
        </thead>
        <tbody>
          {props.committees.map((c) => (
            <tr key={c.id}>
              <td>
                <a href={`/admin/committees/${c.id}`}>{c.name}</a>
              </td>
              <td>{c.current_members}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.committees.length === 0 ? <p>There are no committees yet.</p> : null}
      {props.canWrite ? (
        <form method="post" action="/admin/committees">
          <h2>New committee</h2>
          <CsrfField page={props.page} />
          <FormToken />
          <label for="committee-name">Name</label>
          <input id="committee-name" name="name" required maxlength={200} />
          <button type="submit">Create committee</button>
        </form>
      ) : null}
    </section>
  );
}

/** One committee: its terms (current, upcoming, ended), appointing, and ending a term. */
export function CommitteeView(props: {
  page: PageContext;
  committee: { id: string; name: string };
  terms: Term[];
  canWrite: boolean;
  notice?: string;
}) {
  const { committee, page } = props;
  return (
    <section>
      <p>
        <a href="/admin/committees">All committees</a>
      </p>
      <h1>{committee.name}</h1>
      <Notice text={props.notice} />
      <h2>Members and terms</h2>
      {props.terms.length === 0 ? <p>Nobody has been appointed yet.</p> : null}
      <table>
        <thead>
          <tr>
            <th scope="col">Member</th>
            <th scope="col">Role</th>
            <th scope="col">Term</th>
            <th scope="col">From</th>
            <th scope="col">Until</th>
            <th scope="col">Appointed by</th>
            {props.canWrite ? <th scope="col">End term</th> : null}
          </tr>
        </thead>
        <tbody>
          {props.terms.map((t) => (
            <tr key={t.id}>
              <td>{t.member_name}</td>
              <td>{t.role}</td>
              <td>{t.state}</td>
              <td>{clubDateTime(t.starts_at, page.timeZone)}</td>
              <td>{t.ends_at ? clubDateTime(t.ends_at, page.timeZone) : "open-ended"}</td>
              <td>{t.granted_by}</td>
              {props.canWrite ? (
                <td>
                  {t.state === "ended" ? (
                    (t.ended_by ?? "")
                  ) : (
                    <form method="post" action={`/admin/committees/${committee.id}/terms/${t.id}/end`}>
                      <CsrfField page={page} />
                      <FormToken />
                      <label for={`end-reason-${t.id}`}>Reason</label>
                      <input id={`end-reason-${t.id}`} name="reason" required />
                      <button type="submit">{t.state === "upcoming" ? "Cancel term" : "End term now"}</button>
                    </form>
                  )}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      {props.canWrite ? (
        <form method="post" action={`/admin/committees/${committee.id}/appoint`}>
          <h2>Appoint a member</h2>
          <CsrfField page={page} />
          <FormToken />
          <label for="appoint-email">Member's email address</label>
          <input id="appoint-email" name="email" type="email" required />
          <label for="appoint-role">Role</label>
          <select id="appoint-role" name="role">
            <option value="member">member</option>
            <option value="chair">chair (manages this committee's events)</option>
          </select>
          <label for="appoint-start">First day (empty: now)</label>
          <input id="appoint-start" name="starts_on" type="date" />
          <label for="appoint-end">Last day (empty: open-ended)</label>
          <input id="appoint-end" name="ends_on" type="date" />
          <label for="appoint-reason">Reason (kept in the audit log)</label>
          <input id="appoint-reason" name="reason" />
          <button type="submit">Appoint</button>
        </form>
      ) : null}
    </section>
  );
}
