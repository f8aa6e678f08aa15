import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { conflict } from "../../core/errors.ts";
import { findMemberByEmail } from "../identity/identity.repository.ts";
import { checkNewMember } from "./member-fields.ts";
import { insertMember } from "./members.repository.ts";

/** Creates a member record (INV-1): a new id, an email no other member has, deleted or not. */
export const createMemberRecord = defineAction({
  name: "createMemberRecord",
  access: { capability: "members:write" },
  effect: "admin",
  async run({ trx, actor }, input: { name: string; email: string; status?: string }) {
    const fields = checkNewMember(input);
    const existing = await findMemberByEmail(trx, fields.email);
    if (existing) {
      throw conflict(
        existing.deleted_at
          ? `${fields.email} belongs to a deleted member. Restore that member instead of creating a new one.`
          : `A member with the email ${fields.email} already exists.`,
      );
    }
    const row = await insertMember(trx, { ...fields, reason: "member created", by: actorRef(actor) });
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
