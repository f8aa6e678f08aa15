import { CsrfField, FormToken, Notice, type PageContext } from "../../http/page.tsx";
import { clubDateTime, dateOnly } from "../../http/present.ts";
import { Select } from "../../http/select.tsx";
import { DataTable } from "../../http/table.tsx";
import type { MemberAccess } from "../identity/account-links.repository.ts";
import { MEMBER_STATUSES, TRANSITIONS } from "./member-status.ts";

type Member = {
  id: string;
  name: string;
  email: string;
  phone: string;
  address: string;
  status: string;
  version: number;
  directory_opt_out: boolean;
  email_announcements: boolean;
  joined_on: string | Date;
  tier_key: string | null;
  renewal_due_on: string | Date | null;
  admin_notes: string;
  deleted_at?: Date | null;
};

const day = (d: string | Date | null | undefined) => dateOnly(d) ?? "";

/** The hidden fields of a form that changes something: the CSRF token and a one-time form token. */
function FormTokens({ page }: { page: PageContext }) {
  return (
    <>
      <CsrfField page={page} />
      <FormToken />
    </>
  );
}

/** The fields a member edits about themselves. */
function ContactFields({ member }: { member: Member }) {
  return (
    <>
      <label for="name">Name</label>
      <input id="name" name="name" required value={member.name} />
      <label for="phone">Phone</label>
      <input id="phone" name="phone" type="tel" value={member.phone} />
      <label for="address">Address</label>
      <textarea id="address" name="address" rows={3}>
        {member.address}
      </textarea>
      <label>
        <input
          type="checkbox"
          name="directory_opt_out"
          value="1"
          checked={member.directory_opt_out}
          style="width:auto"
        />{" "}
        Leave me out of the member directory
      </label>
    </>
  );
}

/** The member's own profile form. */
export function ProfileView({ page, member, saved }: { page: PageContext; member: Member; saved?: boolean }) {
  return (
    <section>
      <h1>My details</h1>
      <Notice text={saved ? "Your details were saved." : undefined} />
      <p>
        Email: {member.email} · Status: {member.status}
      </p>
      <form method="post" action="/members/me">
        <FormTokens page={page} />
        <input type="hidden" name="version" value={String(member.version)} />
        <ContactFields member={member} />
        <button type="submit">Save</button>
      </form>
    </section>
  );
}

/** The member's own email preferences: announcements on or off; the rest is always sent. */
export function EmailPreferencesView({
  page,
  member,
  saved,
}: {
  page: PageContext;
  member: Member;
  saved?: boolean;
}) {
  return (
    <section>
      <h2>Email</h2>
      <Notice text={saved ? "Your email preferences were saved." : undefined} />
      <form method="post" action="/members/me/email-preferences">
        <FormTokens page={page} />
        <label>
          <input
            type="checkbox"
            name="announcements"
            value="1"
            checked={member.email_announcements}
            style="width:auto"
          />{" "}
          Send me the club's announcements
        </label>
        <p>
          Messages about your own registrations, your membership and your account are always sent, whatever
          you choose here.
        </p>
        <button type="submit">Save email preferences</button>
      </form>
    </section>
  );
}

/** The member directory, searchable by name and filterable by committee. */
export function DirectoryView({
  rows,
  search,
  committees = [],
  committee,
}: {
  rows: { id: string; name: string; email: string; phone: string }[];
  search?: string;
  committees?: { id: string; name: string }[];
  committee?: string;
}) {
  return (
    <section>
      <h1>Member directory</h1>
      <form method="get" action="/directory">
        <label for="q">Search by name</label>
        <input id="q" name="q" value={search ?? ""} />
        <Select
          id="committee"
          label="Serving on committee"
          value={committee}
          blank="any or none"
          choices={committees.map((c) => ({ value: c.id, label: c.name }))}
        />
        <button type="submit">Search</button>
      </form>
      <DataTable
        label="Members"
        rows={rows}
        rowKey={(m) => m.id}
        columns={[
          { heading: "Name", cell: (m) => m.name },
          { heading: "Email", cell: (m) => m.email },
          { heading: "Phone", cell: (m) => m.phone },
        ]}
      />
    </section>
  );
}

/** The admin member list with filters and a "next page" link. */
export function MemberListView(props: {
  rows: {
    id: string;
    name: string;
    email: string;
    status: string;
    tier_key: string | null;
    sort_key: string;
  }[];
  query: Partial<Record<"search" | "status" | "tier" | "committee" | "sort", string>>;
  next?: string;
  tiers: { key: string; name: string }[];
  committees: { id: string; name: string }[];
  page: PageContext;
  canWrite: boolean;
  /** Who has a login, and who has an open invitation. */
  access: Map<string, MemberAccess>;
}) {
  const q = props.query;
  return (
    <section>
      <h1>Members</h1>
      <p>
        <a href="/admin/members/import">Import</a> · <a href="/admin/members/export.csv">Export CSV</a>
      </p>
      <form method="get" action="/admin/members">
        <label for="search">Name or email contains</label>
        <input id="search" name="search" value={q.search ?? ""} />
        <label for="status">Status</label>
        <select id="status" name="status">
          <option value="">any</option>
          <option value="deleted" selected={q.status === "deleted"}>
            deleted
          </option>
          {MEMBER_STATUSES.map((s) => (
            <option value={s} selected={q.status === s} key={s}>
              {s}
            </option>
          ))}
        </select>
        <Select
          id="tier"
          label="Tier"
          value={q.tier}
          blank="any"
          choices={props.tiers.map((t) => ({ value: t.key, label: t.name }))}
        />
        <Select
          id="committee"
          label="Serving on committee"
          value={q.committee}
          blank="any"
          choices={props.committees.map((c) => ({ value: c.id, label: c.name }))}
        />
        <label for="sort">Sort by</label>
        <select id="sort" name="sort">
          <option value="name">name</option>
          <option value="joined" selected={q.sort === "joined"}>
            joining date
          </option>
        </select>
        <button type="submit">Filter</button>
      </form>
      <DataTable
        label="Members"
        rows={props.rows}
        rowKey={(m) => m.id}
        columns={[
          { heading: "Name", cell: (m) => <a href={`/admin/members/${m.id}`}>{m.name}</a> },
          { heading: "Email", cell: (m) => m.email },
          { heading: "Status", cell: (m) => m.status },
          { heading: "Tier", cell: (m) => m.tier_key ?? "" },
          { heading: "Login", cell: (m) => ACCESS_LABELS[props.access.get(m.id) ?? "none"] },
        ]}
      />
      {props.next ? <a href={props.next}>Next page</a> : null}
      {props.canWrite && q.status !== "deleted" ? (
        <form method="post" action="/admin/members/invite">
          <CsrfField page={props.page} />
          {(["search", "status", "tier", "committee"] as const).map((key) =>
            q[key] ? <input type="hidden" name={key} value={q[key]} key={key} /> : null,
          )}
          <h2>Invite these members</h2>
          <p>
            Sends every member matching these filters (all pages) who has no login and no open invitation a
            link to choose a password, valid for a limited time.
          </p>
          <button type="submit">Invite everyone listed without a login</button>
        </form>
      ) : null}
    </section>
  );
}

/** One member for an admin: edit form, status change and history. */
export function MemberAdminView(props: {
  page: PageContext;
  member: Member;
  history: {
    id: string;
    from_status: string | null;
    to_status: string;
    reason: string;
    changed_by: string;
    changed_at: Date;
  }[];
  tiers: { key: string; name: string }[];
  canWrite: boolean;
  notice?: string;
  /** Why mail to this member's address is not sent (a mail server refused it for good), if it is not. */
  undeliverable?: string;
  access?: MemberAccess;
  invitation?: { created_at: Date; expires_at: Date };
}) {
  const { member, page } = props;
  const next = TRANSITIONS[member.status as keyof typeof TRANSITIONS] ?? [];
  return (
    <section>
      <h1>{member.name}</h1>
      <Notice text={props.notice} />
      <p>Status: {member.status}</p>
      {props.undeliverable ? (
        <p class="notice warning" role="status">
          Email undeliverable: the mail server refused {member.email} for good ({props.undeliverable}). No
          mail is sent to it; correct the address, or retry the message from the outbox once it is confirmed.
        </p>
      ) : null}
      {member.deleted_at ? (
        <div class="notice" role="status">
          <p>This member was deleted on {day(member.deleted_at)}. Their record and history are kept.</p>
          {props.canWrite ? (
            <form method="post" action={`/admin/members/${member.id}/restore`}>
              <FormTokens page={page} />
              <label for="restore-reason">Reason for restoring</label>
              <input id="restore-reason" name="reason" required />
              <button type="submit">Restore member</button>
            </form>
          ) : null}
        </div>
      ) : null}
      {props.canWrite && !member.deleted_at ? (
        <>
          <form method="post" action={`/admin/members/${member.id}`}>
            <FormTokens page={page} />
            <input type="hidden" name="version" value={String(member.version)} />
            <label for="email">Email</label>
            <input id="email" name="email" type="email" required value={member.email} />
            <ContactFields member={member} />
            <label for="joined_on">Joined on</label>
            <input id="joined_on" name="joined_on" type="date" value={day(member.joined_on)} />
            <Select
              id="tier_key"
              label="Tier"
              value={member.tier_key}
              blank="none"
              choices={props.tiers.map((t) => ({ value: t.key, label: t.name }))}
            />
            <label for="renewal_due_on">Renewal due on</label>
            <input id="renewal_due_on" name="renewal_due_on" type="date" value={day(member.renewal_due_on)} />
            <label for="admin_notes">Notes (admins only)</label>
            <textarea id="admin_notes" name="admin_notes" rows={3}>
              {member.admin_notes}
            </textarea>
            <button type="submit">Save</button>
          </form>
          {next.length ? (
            <form method="post" action={`/admin/members/${member.id}/status`}>
              <FormTokens page={page} />
              <input type="hidden" name="version" value={String(member.version)} />
              <h2>Change status</h2>
              <label for="new-status">New status</label>
              <select id="new-status" name="status">
                {next.map((s) => (
                  <option value={s} key={s}>
                    {s}
                  </option>
                ))}
              </select>
              <label for="status-reason">Reason</label>
              <input id="status-reason" name="reason" required />
              <button type="submit">Change status</button>
            </form>
          ) : null}
          {member.status === "active" || member.status === "lapsed" ? (
            <form method="post" action={`/admin/members/${member.id}/renew`}>
              <FormTokens page={page} />
              <input type="hidden" name="version" value={String(member.version)} />
              <h2>Renew membership</h2>
              <p>
                Moves the renewal date on by the tier's period
                {member.status === "lapsed" ? " and makes the member active again" : ""}.
              </p>
              <label for="renew-reason">Note (kept in the audit log)</label>
              <input id="renew-reason" name="reason" />
              <button type="submit">Renew</button>
            </form>
          ) : null}
        </>
      ) : null}
      {props.canWrite && !member.deleted_at ? (
        <form method="post" action={`/admin/members/${member.id}/delete`}>
          <FormTokens page={page} />
          <h2>Delete member</h2>
          <p>
            The record, its history and audit trail are kept, and the member can be restored later. Their
            places at upcoming events are given up (the next in line gets each seat) and are not given back on
            restore. Their sessions end.
          </p>
          <label for="delete-reason">Reason for deleting</label>
          <input id="delete-reason" name="reason" required />
          <button type="submit">Delete member</button>
        </form>
      ) : null}
      {props.canWrite && !member.deleted_at ? (
        <LoginSection page={page} memberId={member.id} access={props.access} invitation={props.invitation} />
      ) : null}
      <h2>Status history</h2>
      <DataTable
        label="Status history"
        rows={props.history}
        rowKey={(h) => h.id}
        columns={[
          {
            heading: "When",
            cell: (h) => clubDateTime(h.changed_at, page.timeZone),
          },
          { heading: "From", cell: (h) => h.from_status ?? "" },
          { heading: "To", cell: (h) => h.to_status },
          { heading: "Why", cell: (h) => h.reason },
          { heading: "By", cell: (h) => h.changed_by },
        ]}
      />
    </section>
  );
}

/** How the member list shows a member's way in. */
const ACCESS_LABELS: Record<MemberAccess | "none", string> = {
  login: "has a login",
  invited: "invited",
  none: "",
};

/** A member's login for an admin: invite (or resend, or revoke the invitation), or send a reset. */
function LoginSection(props: {
  page: PageContext;
  memberId: string;
  access?: MemberAccess;
  invitation?: { created_at: Date; expires_at: Date };
}) {
  const { page, memberId, invitation } = props;
  return (
    <section aria-labelledby="login-heading">
      <h2 id="login-heading">Login</h2>
      {props.access === "login" ? (
        <>
          <p>This member has a login.</p>
          <form method="post" action={`/admin/members/${memberId}/password-reset`}>
            <CsrfField page={page} />
            <button type="submit">Send a password-reset link</button>
          </form>
        </>
      ) : (
        <>
          <p>
            {invitation
              ? `Invited on ${clubDateTime(invitation.created_at, page.timeZone)}; the link works until ${clubDateTime(invitation.expires_at, page.timeZone)}.`
              : "This member has no login yet."}
          </p>
          <form method="post" action={`/admin/members/${memberId}/invite`}>
            <CsrfField page={page} />
            <button type="submit">
              {invitation ? "Send a new invitation (the old link stops working)" : "Invite to sign in"}
            </button>
          </form>
          {invitation ? (
            <form method="post" action={`/admin/members/${memberId}/invite/revoke`}>
              <FormTokens page={page} />
              <button type="submit">Revoke the invitation</button>
            </form>
          ) : null}
        </>
      )}
    </section>
  );
}
