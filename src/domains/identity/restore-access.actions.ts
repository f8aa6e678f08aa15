import { defineAction } from "../../core/action.ts";
import { revokeEveryUnusedLink } from "./account-links.repository.ts";
import { endEverySession } from "./identity.repository.ts";

/* What a restore brings back that must not let anyone in (REC-2): the backup's sessions and its
 * single-use links (invitations, password resets). A session ended or a link used or revoked after the
 * backup was taken would work again, so the restore ends every session and revokes every unused link,
 * whatever its age: it cannot tell which of them were still good, so it denies them all. Members sign
 * in again (the password is the backup's); admins resend the invitations that were still open. */

/** What the restore withdrew, for its output and its audit entry. */
export interface RestoredAccessEnded {
  sessionsEnded: number;
  /** Links that were still open (not expired) when revoked, by purpose. */
  invitationsRevoked: number;
  passwordResetsRevoked: number;
  /** The members whose open invitation was revoked: the ones to invite again. */
  invitedMembers: string[];
}

/** Ends every session and revokes every unused link the restore loaded, right after the load, as one
 * audited step of the restore (subject: the restore). */
export const endRestoredAccess = defineAction({
  name: "endRestoredAccess",
  access: { capability: "backups:restore" },
  effect: "recovery",
  async run({ trx }, input: { restoreId: string; backupId: string }) {
    const sessionsEnded = await endEverySession(trx, "restore");
    const links = await revokeEveryUnusedLink(trx);
    const invited = links.filter((l) => l.purpose === "invitation").map((l) => l.memberId);
    const result: RestoredAccessEnded = {
      sessionsEnded,
      invitationsRevoked: invited.length,
      passwordResetsRevoked: links.filter((l) => l.purpose === "password_reset").length,
      invitedMembers: invited,
    };
    return {
      result,
      audit: {
        action: "identity.restored_access_ended",
        subjectType: "restore",
        subjectId: input.restoreId,
        after: { backupId: input.backupId, ...result },
        reason:
          "The backup's sessions and unused links may have been ended, used or revoked since it was taken.",
      },
    };
  },
});
