import { randomBytes } from "node:crypto";
import { defineAction } from "../../core/action.ts";
import { notFound } from "../../core/errors.ts";
import { hashSecret } from "../../core/secrets.ts";
import { replaceFeedToken } from "./events.repository.ts";

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
