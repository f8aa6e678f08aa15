import { defineAction } from "../../core/action.ts";
import { notFound } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import { MAIL_ERRORS } from "./mail.errors.ts";
import {
  clearUndeliverable,
  markSentAfterRestore,
  requeueMessage,
  type SentRecord,
} from "./outbox.repository.ts";

/** Puts a dead-lettered (or held, or pre-0016 failed) message back in the queue as new, by hand: the
 * recovery for a dead letter (G11). Whoever may read the outbox may retry it; audited. Retrying also
 * lifts an "undeliverable" mark on its address: the admin says the address is worth another try. */
export const retryOutboxMessage = defineAction({
  name: "retryOutboxMessage",
  access: { capability: "audit:read" },
  effect: "admin",
  async run({ trx }, input: { id: string }) {
    if (!UUID.test(input.id)) throw notFound();
    const { before, requeued } = await requeueMessage(trx, input.id);
    if (!before) throw notFound();
    if (!requeued) {
      throw MAIL_ERRORS.not_retryable(
        `This message is ${before.status}, not dead-lettered or held, so there is nothing to retry.`,
      );
    }
    const unmarked = before.recipient ? await clearUndeliverable(trx, before.recipient) : false;
    return {
      result: { id: before.id, previousStatus: before.status, unmarked },
      audit: {
        action: "mail.retried",
        subjectType: "outbox",
        subjectId: before.id,
        before: { status: before.status, attempts: before.attempts, last_error: before.last_error },
        after: { status: "pending", attempts: 0, address_unmarked: unmarked },
      },
    };
  },
});

/** Part of a restore (REC-1): the messages the mail server accepted after the restored backup was taken
 * are marked sent again in the restored outbox, so the restore does not send them a second time. */
export const reconcileOutboxAfterRestore = defineAction({
  name: "reconcileOutboxAfterRestore",
  access: { capability: "backups:restore" },
  effect: "recovery",
  async run({ trx }, input: { backupId: string; sent: SentRecord[] }) {
    const marked = await markSentAfterRestore(trx, input.sent);
    return {
      result: { marked },
      audit: {
        action: "mail.reconciled_after_restore",
        subjectType: "backup",
        subjectId: input.backupId,
        after: { sentAfterBackup: input.sent.length, markedSent: marked },
      },
    };
  },
});
