import { defineAction } from "../../core/action.ts";
import {
  deleteAttemptsBefore,
  deleteDevicesBefore,
  deleteThrottlesBefore,
} from "./access-retention.repository.ts";
import { deleteDecidedBefore } from "./join.repository.ts";

/** How long each kind of sign-in and join data is kept (CLUBOS_*_RETENTION_DAYS, src/app/config.ts). */
export interface AccessRetention {
  throttleDays: number;
  deviceDays: number;
  joinApplicationDays: number;
}

/** The moments before which each kind is deleted. */
export interface AccessCutoffs {
  throttles: Date;
  devices: Date;
  joinApplications: Date;
}

const DAY_MS = 24 * 3600_000;

/** The cutoffs of a run at `now`. */
export function cutoffsOf(retention: AccessRetention, now: Date): AccessCutoffs {
  const ago = (days: number) => new Date(now.getTime() - days * DAY_MS);
  return {
    throttles: ago(retention.throttleDays),
    devices: ago(retention.deviceDays),
    joinApplications: ago(retention.joinApplicationDays),
  };
}

/** Deletes login throttles, remembered browsers with the sign-in history (as old as the browsers'
 * retention) and decided join applications past their retention, in
 * one transaction with one audit entry (the scheduled job's action, run as the system actor). The entry
 * holds the counts and cutoffs only: what was deleted was personal data, and is not copied into the log. */
export const purgeStaleAccessData = defineAction({
  name: "purgeStaleAccessData",
  access: { capability: "members:write" },
  effect: "write",
  async run({ trx }, input: { retention: AccessRetention; cutoffs: AccessCutoffs; reason: string }) {
    const throttles = await deleteThrottlesBefore(trx, input.cutoffs.throttles);
    const devices = await deleteDevicesBefore(trx, input.cutoffs.devices);
    const attempts = await deleteAttemptsBefore(trx, input.cutoffs.devices);
    const joinApplications = await deleteDecidedBefore(trx, input.cutoffs.joinApplications);
    const deleted = { throttles, devices, attempts, joinApplications };
    return {
      result: deleted,
      audit: {
        action: "access_data.purged",
        subjectType: "retention",
        subjectId: "access-data",
        after: {
          deleted,
          retentionDays: input.retention,
          before: {
            throttles: input.cutoffs.throttles.toISOString(),
            devices: input.cutoffs.devices.toISOString(),
            joinApplications: input.cutoffs.joinApplications.toISOString(),
          },
        },
        reason: input.reason,
      },
    };
  },
});
