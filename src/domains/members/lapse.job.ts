import { defineAction, runActionWith } from "../../core/action.ts";
import { systemActor } from "../../core/actor.ts";
import { ClubError } from "../../core/errors.ts";
import { JOB_MODES, type Job, type JobRun, type JobSummary } from "../../core/scheduler.ts";
import { dateTimeFormat } from "../../core/time-format.ts";
import { KEEPS_ADMIN_ACTIVE } from "../identity/identity.policies.ts";
import { changeMemberStatus } from "./members.actions.ts";
import { countPastDue, lockIfPastDue, pastDueAfter } from "./members.repository.ts";

/** The calendar date (YYYY-MM-DD) in the club's time zone: "due today" means the club's today. */
export function clubToday(timeZone: string, now: Date = new Date()): string {
  const parts = dateTimeFormat("en-US", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(now);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}

/** Lapses one member through the state machine, exactly as changeMemberStatus does (same history row,
 * same 'member.status_changed' audit entry). A system write, not an admin change: read-only mode stops
 * it, the admin freeze does not. The last active full administrator is never lapsed: the run reports
 * them as failed, with the reason, every time until someone renews them or appoints another. */
export const lapseMember = defineAction({
  name: "lapseMember",
  access: { capability: "members:write", policy: KEEPS_ADMIN_ACTIVE },
  effect: "write",
  run: (scope, input: { memberId: string; status: "lapsed"; reason: string }) =>
    changeMemberStatus.run(scope, input),
});

const BATCH = 200;
const ACTOR = systemActor("lapse-job");

/** Lapses every active member whose renewal date is before the club's today; each in its own action.
 * Idempotent: a lapsed member is no longer a candidate, so a second run changes nothing. */
async function lapseMembers(run: JobRun): Promise<JobSummary> {
  const { db } = run.ctx.database;
  const today = clubToday(run.ctx.config.timeZone, run.now);
  const total = await countPastDue(db, today);
  const env = run.ctx.actionEnv(ACTOR, run.runId);
  let after = "00000000-0000-0000-0000-000000000000";
  let seen = 0;
  let changed = 0;
  const failures: string[] = [];
  while (!run.signal.aborted) {
    // Keyset over id, so a member that keeps failing is tried once per run, not forever.
    const batch = await pastDueAfter(db, today, after, BATCH);
    if (batch.length === 0) break;
    for (const member of batch) {
      if (run.signal.aborted) break;
      after = member.id;
      seen++;
      const reason = `Renewal was due on ${member.due_on} and not made (lapse job, ${run.triggeredBy}).`;
      try {
        // A member renewed, lapsed by a racing run, or deleted since the batch was read is left alone;
        // the check takes the row lock the change then keeps.
        const outcome = await runActionWith<
          { memberId: string; status: "lapsed"; reason: string },
          unknown,
          "lapsed" | "skipped"
        >(
          env,
          lapseMember,
          { memberId: member.id, status: "lapsed", reason },
          {
            before: async (trx) => ((await lockIfPastDue(trx, member.id, today)) ? undefined : "skipped"),
            after: async () => "lapsed" as const,
          },
        );
        if (outcome === "lapsed") changed++;
      } catch (error) {
        // The mode changed under the run: stop and let the scheduler defer the rest.
        if (error instanceof ClubError && ["read_only", "state_unavailable"].includes(error.code))
          throw error;
        failures.push(`${member.id}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (seen % 50 === 0) run.progress(`checked ${seen} of ${total} past due, lapsed ${changed}`);
    }
  }
  run.progress(`checked ${seen} of ${total} past due, lapsed ${changed}`);
  const stopped = run.signal.aborted ? "stopped by shutdown; the rest are lapsed next run. " : "";
  return {
    changed,
    failed: failures.length,
    detail: `${stopped}${failures.slice(0, 5).join("; ")}`.trim() || undefined,
  };
}

/** The lapse job: hourly, so a renewal date passing at the club's midnight lapses within the hour. */
export const lapseJob: Job = {
  name: "lapse-members",
  description: "Mark active members whose renewal date has passed (club time zone) as lapsed",
  intervalMs: 60 * 60_000,
  modes: JOB_MODES.normal,
  run: lapseMembers,
};
