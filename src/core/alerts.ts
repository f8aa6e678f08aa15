import { type Kysely, sql } from "kysely";
import type { DB } from "./db/schema.ts";

/* Operator alerts: conditions a person must see, shown as a banner on every admin page until they are
 * cleared. Any domain raises and clears them inside its own transaction, so an alert appears and goes
 * with the change that caused it (an incident opened, a backup that failed, an owner named). The core
 * knows no domain: an alert is only a key, a severity, words and a link. The mode watcher
 * (src/core/modes.ts) reads them with the system state in one query per poll, so pages read none. */

/** How loud the banner is: critical (a SEV-1, writes stopped, data at risk) or warning. */
export const ALERT_SEVERITIES = ["critical", "warning"] as const;
/** An alert's severity. */
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** One raised alert as pages show it. */
export interface OperatorAlert {
  /** Stable key of the condition, `<domain>.<what>[:<id>]`, e.g. "backups.failing" or "ops.incident:<id>". */
  key: string;
  severity: AlertSeverity;
  /** Words for a volunteer: what is wrong and what to do. */
  message: string;
  /** A page that explains or fixes it (a path such as /admin/incidents), or null. */
  link: string | null;
  /** Since when the condition holds. */
  since: Date;
}

/** What raiseAlert takes; `since` defaults to now, and raising an alert already raised keeps its since. */
export interface AlertDraft {
  key: string;
  severity: AlertSeverity;
  message: string;
  link?: string | null;
  since?: Date;
}

/** Raises (or updates) an alert inside the caller's transaction. Idempotent: raising it again changes its
 * words, severity and link but keeps the time it was first raised. */
export async function raiseAlert(trx: Kysely<DB>, alert: AlertDraft): Promise<void> {
  await trx
    .insertInto("operator_alerts")
    .values({
      key: alert.key,
      severity: alert.severity,
      message: alert.message,
      link: alert.link ?? null,
      since: alert.since ?? sql<Date>`now()`,
    })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({
        severity: (eb) => eb.ref("excluded.severity"),
        message: (eb) => eb.ref("excluded.message"),
        link: (eb) => eb.ref("excluded.link"),
        ...(alert.since ? { since: (eb) => eb.ref("excluded.since") } : {}),
      }),
    )
    .execute();
}

/** Clears an alert inside the caller's transaction; clearing one that is not raised does nothing. */
export async function clearAlert(trx: Kysely<DB>, key: string): Promise<void> {
  await trx.deleteFrom("operator_alerts").where("key", "=", key).execute();
}

/** Clears every alert whose key starts with the prefix (e.g. "ops.incident:"), except the keys kept. */
export async function clearAlertsLike(trx: Kysely<DB>, prefix: string, keep: string[] = []): Promise<void> {
  let query = trx.deleteFrom("operator_alerts").where("key", "like", `${prefix.replace(/[\\%_]/g, "\\$&")}%`);
  if (keep.length) query = query.where("key", "not in", keep);
  await query.execute();
}

/** Every raised alert, critical first, oldest first: for pages that list them (the watcher reads them
 * with the state instead). */
export async function listAlerts(db: Kysely<DB>): Promise<OperatorAlert[]> {
  const rows = await db.selectFrom("operator_alerts").selectAll().execute();
  return sortAlerts(rows.map(alertFromRow));
}

/** An alert from its row, or from the row as JSON (the watcher's combined query). */
export function alertFromRow(row: {
  key: string;
  severity: string;
  message: string;
  link: string | null;
  since: Date | string;
}): OperatorAlert {
  return {
    key: row.key,
    severity: row.severity === "critical" ? "critical" : "warning",
    message: row.message,
    link: row.link,
    since: new Date(row.since),
  };
}

/** Critical first, then the oldest first. */
export function sortAlerts(alerts: OperatorAlert[]): OperatorAlert[] {
  const rank = (a: OperatorAlert) => (a.severity === "critical" ? 0 : 1);
  return [...alerts].sort((a, b) => rank(a) - rank(b) || a.since.getTime() - b.since.getTime());
}
