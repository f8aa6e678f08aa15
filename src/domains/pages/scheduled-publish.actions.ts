import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { notFound } from "../../core/errors.ts";
import { lockCurrent, makeCurrent, writableDraft } from "./pages.actions.ts";
import { PAGE_ERRORS } from "./pages.errors.ts";
import { findRevision, lockPage, touchPage } from "./pages.repository.ts";
import { finishSchedule, insertSchedule, pendingScheduleOf } from "./preview.repository.ts";

/* Publishing at a set time. A publisher schedules the page's draft; the scheduled-publish job
 * (scheduled-publish.job.ts) publishes it once its time has come, as an audited system action with the
 * effect "publish", so the publish freeze refuses it exactly as it refuses publishing by hand. A
 * schedule the job cannot carry out (frozen, the draft gone) ends as failed with the reason, shown on the
 * page list: nothing is published later by surprise once a freeze is lifted. */

const PUBLISH = { capability: "pages:publish" } as const;

/** Schedules the page's draft to be published at a time in the future (one pending schedule per page). */
export const schedulePublish = defineAction({
  name: "schedulePublish",
  access: PUBLISH,
  effect: "publish",
  async run(scope, input: { pageId: string; version: number; publishAt: Date }) {
    const page = await lockCurrent(scope, input.pageId, input.version);
    const draft = await writableDraft(scope, page);
    if (!(input.publishAt.getTime() > Date.now()))
      throw PAGE_ERRORS.schedule_invalid(
        "That time has already passed. Choose a time in the future, or publish now.",
      );
    if (await pendingScheduleOf(scope.trx, page.id))
      throw PAGE_ERRORS.schedule_invalid(
        "This page is already scheduled to be published. Cancel that first, then schedule again.",
      );
    const schedule = await insertSchedule(scope.trx, {
      pageId: page.id,
      revisionId: draft.id,
      publishAt: input.publishAt,
      createdBy: actorRef(scope.actor),
    });
    const after = await touchPage(scope.trx, page.id);
    return {
      result: { page: after, schedule },
      audit: {
        action: "page.publish_scheduled",
        subjectType: "page",
        subjectId: page.id,
        after: {
          version: after.version,
          changes: { "scheduled publish": input.publishAt.toISOString() },
          schedule: schedule.id,
          revision: draft.number,
        },
      },
    };
  },
});

/** Cancels the page's pending scheduled publish. It makes nothing visible, so no freeze stops it: a
 * publisher can always stop a publish that is waiting. */
export const cancelScheduledPublish = defineAction({
  name: "cancelScheduledPublish",
  access: PUBLISH,
  effect: "write",
  async run(scope, input: { pageId: string }) {
    const page = await lockPage(scope.trx, input.pageId);
    if (!page) throw notFound();
    const pending = await pendingScheduleOf(scope.trx, page.id);
    if (!pending)
      throw PAGE_ERRORS.schedule_invalid("This page has no scheduled publish to cancel (it may have run).");
    const done = await finishSchedule(scope.trx, pending.id, "cancelled", "cancelled by a publisher");
    return {
      result: done!,
      audit: {
        action: "page.publish_schedule_cancelled",
        subjectType: "page",
        subjectId: page.id,
        after: { schedule: pending.id, publishAt: new Date(pending.publish_at).toISOString() },
      },
    };
  },
});

/** Publishes a due schedule's revision (run by the job as the system): the same steps as publishing by
 * hand, once: the schedule is ended in the same transaction, so a second run finds nothing to do. */
export const runScheduledPublish = defineAction({
  name: "runScheduledPublish",
  access: PUBLISH,
  effect: "publish",
  async run(scope, input: { pageId: string; scheduleId: string; now: Date; timeZone: string }) {
    const page = await lockPage(scope.trx, input.pageId);
    const pending = page ? await pendingScheduleOf(scope.trx, page.id) : undefined;
    if (!page || !pending || pending.id !== input.scheduleId || new Date(pending.publish_at) > input.now)
      throw PAGE_ERRORS.schedule_invalid("This scheduled publish is not due or no longer pending.");
    const revision = await findRevision(scope.trx, page.id, pending.revision_id);
    if (!revision || revision.frozen || page.status === "archived")
      throw PAGE_ERRORS.schedule_invalid(
        "The draft that was scheduled is no longer a draft (it was published or the page archived).",
      );
    const { frozen, after } = await makeCurrent(scope, page, revision, input.timeZone);
    await finishSchedule(scope.trx, pending.id, "done");
    return {
      result: after,
      audit: {
        action: "page.published",
        subjectType: "page",
        subjectId: page.id,
        before: { status: page.status },
        after: {
          version: after.version,
          changes: { "published revision": frozen.number },
          status: "published",
          published: { revision: frozen.number, contentHash: frozen.content_hash },
          schedule: pending.id,
        },
      },
    };
  },
});

/** Ends a schedule the job could not carry out, with the reason (a system write: the freeze that refused
 * the publish does not stop recording that it was refused). */
export const failScheduledPublish = defineAction({
  name: "failScheduledPublish",
  access: PUBLISH,
  effect: "write",
  async run(scope, input: { pageId: string; scheduleId: string; reason: string }) {
    const done = await finishSchedule(scope.trx, input.scheduleId, "failed", input.reason);
    if (!done) throw PAGE_ERRORS.schedule_invalid("This scheduled publish is no longer pending.");
    return {
      result: done,
      audit: {
        action: "page.publish_schedule_failed",
        subjectType: "page",
        subjectId: input.pageId,
        after: { schedule: input.scheduleId, reason: input.reason },
      },
    };
  },
});
