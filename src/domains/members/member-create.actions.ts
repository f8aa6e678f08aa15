import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { conflict, invalidInput } from "../../core/errors.ts";
import { findMemberByEmail } from "../identity/identity.repository.ts";
import { isMemberStatus } from "./member-status.ts";
import { recordStatusChange } from "./members.actions.ts";

/** Creates a member record (INV-1): a new id, an email no other member has, deleted or not. */
export const createMemberRecord = defineAction({
  name: "createMemberRecord",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx, actor }, input: { name: string; email: string; status?: string }) {
    const email = input.email.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw invalidInput(`"${email}" is not an email address.`);
    if (!input.name.trim()) throw invalidInput("A name is required.");
    if (input.status !== undefined && !isMemberStatus(input.status))
      throw invalidInput(`There is no status "${input.status}".`);
    const existing = await findMemberByEmail(trx, email);
    if (existing) {
      throw conflict(
        existing.deleted_at
          ? `${email} belongs to a deleted member. Restore that member instead of creating a new one.`
          : `A member with the email ${email} already exists.`,
      );
    }
    const row = await trx
      .insertInto("members")
      .values({ name: input.name.trim(), email, status: input.status ?? "active" })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordStatusChange(trx, row.id, null, row.status, "member created", actorRef(actor));
    return {
      result: row,
      audit: {
        action: "member.created",
        subjectType: "member",
        subjectId: row.id,
        after: { name: row.name, email: row.email, status: row.status },
      },
    };
  },
});
