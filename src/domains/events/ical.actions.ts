import { randomBytes } from "node:crypto";
import { defineAction } from "../../core/action.ts";
import { notFound } from "../../core/errors.ts";
import { hashSecret } from "../../core/secrets.ts";
import { keepFeedTokens, replaceFeedToken } from "./events.repository.ts";

/** Makes a new personal feed token for the signed-in member, replacing any earlier one (which stops
 * working in the same commit). Only its hash is kept; the token itself is returned once. */
export const rotateFeedToken = defineAction({
  name: "rotateFeedToken",
  access: { capability: "profile:write" },
  effect: "write",
  async run({ trx, actor }, _input: Record<string, never>) {
    if (actor.type !== "member") throw notFound();
    // Hex, so the token never contains the "-" or "." that the router reads as separators in ":token.ics".
    const token = randomBytes(32).toString("hex");
    const row = await replaceFeedToken(trx, actor.memberId, hashSecret(token));
    return {
      result: { token },
      audit: {
        action: "member.feed_token_rotated",
        subjectType: "member",
        subjectId: actor.memberId,
        after: { version: row.version, replacedEarlier: row.version > 1 },
      },
    };
  },
});

/** Part of a restore: members' feed addresses stay as they were before it (currentFeedTokens, read before
 * the load), so an address a member replaced since the backup was taken does not work again. */
export const keepFeedAddressesAfterRestore = defineAction({
  name: "keepFeedAddressesAfterRestore",
  access: { capability: "backups:restore" },
  effect: "recovery",
  async run({ trx }, input: { restoreId: string; before: { memberId: string; tokenHash: string }[] }) {
    const changed = await keepFeedTokens(trx, input.before);
    return {
      result: { changed },
      audit: {
        action: "member.feed_tokens_kept_after_restore",
        subjectType: "restore",
        subjectId: input.restoreId,
        after: { feedTokensBefore: input.before.length, changed },
      },
    };
  },
});
