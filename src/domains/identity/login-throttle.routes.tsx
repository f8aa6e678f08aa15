import type { FastifyInstance, FastifyRequest } from "fastify";
import { notFound } from "../../core/errors.ts";
import { CsrfField, FormToken, pageContext } from "../../http/page.tsx";
import { clubDateTime } from "../../http/present.ts";
import { declareRoute } from "../../http/routes.ts";
import { FormBody, FormText, ID_PARAMS } from "../../http/schema.ts";
import { findMember } from "../members/members.repository.ts";
import { throttleStateOf } from "./identity.repository.ts";
import { unthrottleLogin } from "./login.actions.ts";
import { emailKeyOf } from "./login-throttle.ts";

/** The lift-the-wait form on an admin's member page. */
const UnthrottleForm = FormBody({ reason: FormText(500) });

/** An admin lifts the login slow-down on a member's account from the member's page. */
export function loginThrottleRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "POST",
    url: "/admin/members/:id/unthrottle",
    action: unthrottleLogin,
    loadClass: "admin",
    response: "html",
    summary: "Lift the login slow-down on a member's account (after too many wrong passwords)",
    schema: { params: ID_PARAMS, body: UnthrottleForm },
    handler: async (request, reply, action) => {
      const member = await findMember(request.server.ctx.database.db, request.params.id);
      if (!member) throw notFound();
      return action.oncePerForm(
        reply,
        { email: member.email, reason: request.body.reason },
        () => `/admin/members/${member.id}?done=unthrottled`,
      );
    },
  });
}

/** On an admin's member page, when the member's sign-ins are slowed down: how much, and (for those who
 * may change members) the button that lifts it. Nothing otherwise. */
export async function loginThrottleSection(request: FastifyRequest, member: { id: string; email: string }) {
  const state = await throttleStateOf(request.server.ctx.database.db, emailKeyOf(member.email));
  if (!state) return null;
  const page = pageContext(request);
  return (
    <section>
      <h2>Sign-in</h2>
      <p>
        Sign-ins to this account are slowed down after {state.failures} wrong password
        {state.failures === 1 ? "" : "s"}, the last at {clubDateTime(state.lastFailureAt, page.timeZone)}.
        Browsers and places the member signed in from before are not affected.
      </p>
      {request.auth.actor.capabilities.has("members:write") ? (
        <form method="post" action={`/admin/members/${member.id}/unthrottle`}>
          <CsrfField page={page} />
          <FormToken />
          <label for="unthrottle-reason">Reason (kept in the audit log)</label>
          <input
            id="unthrottle-reason"
            name="reason"
            placeholder="The member called and confirmed who they are"
          />
          <button type="submit">Let them sign in now</button>
        </form>
      ) : null}
    </section>
  );
}
