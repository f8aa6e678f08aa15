import { defineAction, runActionWith } from "../../core/action.ts";
import { systemActor } from "../../core/actor.ts";
import { ClubError } from "../../core/errors.ts";
import { JOB_MODES, type Job, type JobConfig, type JobRun, type JobSummary } from "../../core/scheduler.ts";
import { clubToday } from "./lapse.job.ts";
import { MEMBER_ERRORS } from "./members.errors.ts";
import { renewalReminderEmail } from "./members.messages.ts";
import {
  countMembersDueWithin,
  lockIfStillDue,
  membersDueWithin,
  recordReminder,
} from "./renewal-reminders.repository.ts";

/** What the reminder job reads from the configuration (the app's Config has all of it). */
export interface ReminderConfig extends JobConfig {
  /** Days before the renewal date, largest first (CLUBOS_RENEWAL_REMINDER_DAYS). */
  renewalReminderDays: number[];
  clubName: string;
  publicUrl: string;
}

/** The step a member is due now: the smallest configured number of days that is at least the days left.
 * A member 5 days from renewal with steps 30, 7, 0 gets the 7-day reminder; one whose 30-day reminder
 * was missed (the server was off) is not sent it late on top of the next. */
export function dueStep(days: readonly number[], daysLeft: number): number | undefined {
  let step: number | undefined;
  for (const d of days) if (d >= daysLeft && (step === undefined || d < step)) step = d;
  return step;
}

interface ReminderInput {
  memberId: string;
  name: string;
  email: string;
  dueOn: string;
  daysLeft: number;
  step: number;
  clubName: string;
  publicUrl: string;
}

/** Sends one renewal reminder: records (member, renewal date, step) and writes the message in one
 * transaction, so a reminder is mailed at most once however many runs race (the record's primary key
 * refuses the second, which then rolls back with its message). Transactional mail: sent whatever the
 * member's announcements choice. A system write: read-only mode stops it, the admin freeze does not. */
export const sendRenewalReminder = defineAction({
  name: "sendRenewalReminder",
  access: { capability: "members:write" },
  effect: "write",
  async run({ trx }, input: ReminderInput) {
    const recorded = await recordReminder(trx, input);
    if (!recorded) {
      throw MEMBER_ERRORS.reminder_already_sent(
        "This renewal reminder was already sent; nothing was sent again.",
      );
    }
    return {
      result: "sent" as const,
      audit: {
        action: "member.renewal_reminder_sent",
        subjectType: "member",
        subjectId: input.memberId,
        after: { renewal_due_on: input.dueOn, step: input.step, days_left: input.daysLeft },
      },
      outbox: [renewalReminderEmail(input)],
    };
  },
});

const BATCH = 200;
const ACTOR = systemActor("renewal-reminder-job");

/** Sends every renewal reminder that is due today (club time zone); each in its own action. */
async function sendReminders(run: JobRun<ReminderConfig>): Promise<JobSummary> {
  const { db } = run.ctx.database;
  const { renewalReminderDays: days, clubName, publicUrl, timeZone } = run.ctx.config;
  if (days.length === 0) return { changed: 0, failed: 0, detail: "no reminder days configured" };
  const today = clubToday(timeZone, run.now);
  const maxDays = days[0]!;
  const total = await countMembersDueWithin(db, today, maxDays);
  const env = run.ctx.actionEnv(ACTOR, run.runId);
  let after = "00000000-0000-0000-0000-000000000000";
  let seen = 0;
  let sent = 0;
  const failures: string[] = [];
  while (!run.signal.aborted) {
    const batch = await membersDueWithin(db, { today, maxDays, afterId: after, limit: BATCH });
    if (batch.length === 0) break;
    for (const member of batch) {
      if (run.signal.aborted) break;
      after = member.id;
      seen++;
      const step = dueStep(days, member.days_left);
      if (step === undefined) continue;
      try {
        const outcome = await runActionWith(
          env,
          sendRenewalReminder,
          {
            memberId: member.id,
            name: member.name,
            email: member.email,
            dueOn: member.due_on,
            daysLeft: member.days_left,
            step,
            clubName,
            publicUrl,
          },
          {
            // Renewed, lapsed or deleted since the batch was read: no reminder.
            before: async (trx) =>
              (await lockIfStillDue(trx, member.id, member.due_on)) ? undefined : ("skipped" as const),
            after: async () => "sent" as const,
          },
        );
        if (outcome === "sent") sent++;
      } catch (error) {
        if (error instanceof ClubError && error.code === "reminder_already_sent") continue;
        if (error instanceof ClubError && ["read_only", "state_unavailable"].includes(error.code))
          throw error;
        failures.push(`${member.id}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (seen % 50 === 0) run.progress(`checked ${seen} of ${total} due soon, sent ${sent} reminders`);
    }
  }
  run.progress(`checked ${seen} of ${total} due soon, sent ${sent} reminders`);
  const stopped = run.signal.aborted ? "stopped by shutdown; the rest are sent next run. " : "";
  return {
    changed: sent,
    failed: failures.length,
    detail: `${stopped}${failures.slice(0, 5).join("; ")}`.trim() || undefined,
  };
}

/** The renewal reminder job: every few hours, so the day's reminders go out early in the club's day
 * whenever the server was started; each reminder is still sent once. */
export const renewalReminderJob: Job<ReminderConfig> = {
  name: "renewal-reminders",
  description: "Mail members whose renewal date is near (CLUBOS_RENEWAL_REMINDER_DAYS), once per step",
  intervalMs: 6 * 60 * 60_000,
  modes: JOB_MODES.normal,
  run: sendReminders,
};
