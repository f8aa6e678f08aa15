import { defineAction } from "../../core/action.ts";
import { conflict, invalidInput } from "../../core/errors.ts";
import { findMemberByEmail } from "./identity.repository.ts";

/** Creates a minimal member record (name, email, status); the members domain builds on it. */
export const createMemberRecord = defineAction({
  name: "createMemberRecord",
  capability: "members:write",
  effect: "admin",
  async run({ trx }, input: { name: string; email: string; status?: string }) {
    const email = input.email.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw invalidInput(`"${email}" is not an email address.`);
    if (!input.name.trim()) throw invalidInput("A name is required.");
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
