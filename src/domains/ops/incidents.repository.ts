import { type Kysely, sql } from "kysely";
import type { ActionScope, OutboxDraft } from "../../core/action.ts";
import { clearAlert, clearAlertsLike, raiseAlert } from "../../core/alerts.ts";
import type { DB } from "../../core/db/schema.ts";
import { UUID } from "../../core/ids.ts";
import type { CheckResult } from "../../core/invariants.ts";
import { incidentOpenedEmail } from "./incidents.messages.ts";

/* The incident log's SQL (H-1..H-4, D-2): incidents, their timeline (notes, decisions, confirmations),
 * the owner of each critical area, and the operator alerts they raise. openIncidentIn, recordDecisionIn
 * and addConfirmationIn are for other parts of ClubOS (restore, resume, backups, the invariant scan):
 * they write inside the caller's transaction, so the incident and the change it records commit together
 * and the caller's action writes the audit entry. */

/** Severities (H-1): SEV-1 corruption, loss, auth bypass, outage; SEV-2 admin down, publishing blocked,
 * many members affected; SEV-3 one feature degraded. */
export const SEVERITIES = ["SEV-1", "SEV-2", "SEV-3"] as const;
/** An incident's severity. */
export type Severity = (typeof SEVERITIES)[number];

/** The critical areas, each with one owner. */
export const AREAS = ["data", "security", "publishing", "email"] as const;
/** A critical area. */
export type Area = (typeof AREAS)[number];
/** How pages and messages name an area. */
export const AREA_LABELS: Record<Area, string> = {
  data: "data and backups",
  security: "security",
  publishing: "publishing",
  email: "email",
};

/** What a caller learns about an incident it touched. */
export interface IncidentRef {
  id: string;
  number: number;
  severity: string;
  title: string;
}

/** The timeline's kinds of entry. */
export type EntryKind = "note" | "decision" | "confirmation";

const REF = ["id", "number", "severity", "title"] as const;

/** Inserts an open incident. */
export function insertIncident(
  db: Kysely<DB>,
  input: { severity: Severity; title: string; area: Area | null; openedBy: string },
) {
  return db
    .insertInto("incidents")
    .values({ severity: input.severity, title: input.title, area: input.area, opened_by: input.openedBy })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Appends one entry to an incident's timeline. */
export function insertEntry(
  db: Kysely<DB>,
  input: { incidentId: string; kind: EntryKind; actor: string; text: string; action?: string | null },
) {
  return db
    .insertInto("incident_entries")
    .values({
      incident_id: input.incidentId,
      kind: input.kind,
      actor: input.actor,
      text: input.text,
      action: input.kind === "decision" ? (input.action ?? "") : null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The open incidents, oldest first. */
export function openIncidents(db: Kysely<DB>): Promise<IncidentRef[]> {
  return db
    .selectFrom("incidents")
    .select(REF)
    .where("status", "=", "open")
    .orderBy("opened_at")
    .orderBy("number")
    .execute();
}

/** An incident by id, by number (12) or by "INC-12"; undefined when there is none. */
export function findIncident(db: Kysely<DB>, ref: string) {
  const text = ref.trim();
  const number = /^(INC-)?(\d{1,9})$/i.exec(text)?.[2];
  let query = db.selectFrom("incidents").selectAll();
  if (number) query = query.where("number", "=", Number(number));
  else if (UUID.test(text)) query = query.where("id", "=", text);
  else return Promise.resolve(undefined);
  return query.executeTakeFirst();
}

/** The incident row locked for a change. */
export function lockIncident(db: Kysely<DB>, id: string) {
  return db.selectFrom("incidents").selectAll().where("id", "=", id).forUpdate().executeTakeFirst();
}

/** Closes an open incident. */
export function closeIncidentRow(
  db: Kysely<DB>,
  input: { id: string; closedBy: string; review: string | null },
) {
  return db
    .updateTable("incidents")
    .set({
      status: "closed",
      closed_by: input.closedBy,
      closed_at: sql`greatest(now(), opened_at)`,
      review: input.review,
      version: sql`version + 1`,
    })
    .where("id", "=", input.id)
    .where("status", "=", "open")
    .returningAll()
    .executeTakeFirst();
}

/** Incidents for the list, open first then newest, with their area's owner. */
export function listIncidents(db: Kysely<DB>, limit = 100) {
  return db
    .selectFrom("incidents as i")
    .leftJoin("area_owners as o", "o.area", "i.area")
    .leftJoin("members as m", (j) => j.onRef("m.id", "=", "o.member_id").on("m.deleted_at", "is", null))
    .select([
      "i.id",
      "i.number",
      "i.severity",
      "i.title",
      "i.area",
      "i.status",
      "i.opened_by",
      "i.opened_at",
      "i.closed_at",
      "m.id as owner_id",
      "m.name as owner_name",
    ])
    .orderBy(sql`i.status = 'open'`, "desc")
    .orderBy("i.opened_at", "desc")
    .limit(limit)
    .execute();
}

/** One incident with its area's owner. */
export function incidentWithOwner(db: Kysely<DB>, id: string) {
  return db
    .selectFrom("incidents as i")
    .leftJoin("area_owners as o", "o.area", "i.area")
    .leftJoin("members as m", (j) => j.onRef("m.id", "=", "o.member_id").on("m.deleted_at", "is", null))
    .selectAll("i")
    .select(["m.id as owner_id", "m.name as owner_name", "m.email as owner_email"])
    .where("i.id", "=", id)
    .executeTakeFirst();
}

/** An incident's timeline, oldest first, with the member's name for member actors. */
export function incidentEntries(db: Kysely<DB>, incidentId: string) {
  return db
    .selectFrom("incident_entries as e")
    .leftJoin("members as m", (j) =>
      j.on(sql<boolean>`e.actor LIKE 'member:%' AND m.id::text = substr(e.actor, 8)`),
    )
    .select([
      "e.id",
      "e.kind",
      "e.actor",
      "e.at",
      "e.action",
      "e.text",
      "m.id as member_id",
      "m.name as member_name",
    ])
    .where("e.incident_id", "=", incidentId)
    .orderBy("e.at")
    .orderBy("e.id")
    .execute();
}

/** Every area with its owner, if one is named and still an active member. */
export async function listAreaOwners(db: Kysely<DB>) {
  const rows = await db
    .selectFrom("area_owners as o")
    .innerJoin("members as m", "m.id", "o.member_id")
    .select(["o.area", "m.id as member_id", "m.name", "m.email", "m.status", "m.deleted_at", "o.updated_at"])
    .execute();
  return AREAS.map((area) => {
    const row = rows.find((r) => r.area === area);
    const active = row && row.deleted_at === null && row.status === "active";
    return { area, label: AREA_LABELS[area], owner: row ?? null, active: Boolean(active) };
  });
}

/** The owner of an area when it is named and still an active member (as listAreaOwners decides):
 * whom its incidents go to. */
export async function activeAreaOwner(db: Kysely<DB>, area: Area) {
  const owned = (await listAreaOwners(db)).find((a) => a.area === area && a.active);
  return owned?.owner
    ? { id: owned.owner.member_id, name: owned.owner.name, email: owned.owner.email }
    : undefined;
}

/** The active member with this email, for naming an owner. */
export function activeMemberByEmail(db: Kysely<DB>, email: string) {
  return db
    .selectFrom("members")
    .select(["id", "name", "email"])
    .where(sql`lower(email)`, "=", email.trim().toLowerCase())
    .where("deleted_at", "is", null)
    .where("status", "=", "active")
    .executeTakeFirst();
}

/** Names (or replaces) an area's owner; returns the owner before, if any. */
export async function upsertAreaOwner(
  db: Kysely<DB>,
  input: { area: Area; memberId: string; setBy: string },
): Promise<string | null> {
  const before = await db
    .selectFrom("area_owners")
    .select("member_id")
    .where("area", "=", input.area)
    .forUpdate()
    .executeTakeFirst();
  await db
    .insertInto("area_owners")
    .values({ area: input.area, member_id: input.memberId, set_by: input.setBy })
    .onConflict((oc) => oc.column("area").doUpdateSet({ member_id: input.memberId, set_by: input.setBy }))
    .execute();
  return before?.member_id ?? null;
}

/** The latest invariant scan: when, by whom, and the checks that failed with their sample rows. */
export async function latestInvariantRun(db: Kysely<DB>) {
  const row = await db
    .selectFrom("invariant_runs")
    .selectAll()
    .orderBy("finished_at", "desc")
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  const raw = typeof row.violations === "string" ? JSON.parse(row.violations) : row.violations;
  return { ...row, failed: raw as CheckResult[] };
}

/** The newest open incident this actor opened (the invariant scan, the backup job), if any: a problem
 * still there at the next run adds to it instead of opening another. */
export function openIncidentOpenedBy(db: Kysely<DB>, openedBy: string) {
  return db
    .selectFrom("incidents")
    .select(REF)
    .where("status", "=", "open")
    .where("opened_by", "=", openedBy)
    .orderBy("opened_at", "desc")
    .limit(1)
    .executeTakeFirst();
}

type Opening = { severity: Severity; title: string; area?: Area | null; openedBy: string; note?: string };

/** The scope an incident opens in: the action's transaction, and what its messages say. */
type OpeningScope = Pick<ActionScope, "trx" | "clubName" | "publicUrl">;

/** Opens an incident inside the caller's action (restore, backups, the invariant scan, the leak audit),
 * with an optional first note, and raises its banner when it is a SEV-1. Gives the mail that tells the
 * area's owner (H-2), for the action's outbox, so that it commits with the incident or not at all:
 * every incident ClubOS opens goes through here. An area with no active owner gets none (its page
 * and the incident's show that in red). The caller's action audits it. */
export async function openIncidentIn(
  scope: OpeningScope,
  input: Opening,
): Promise<{ incident: IncidentRef; outbox: OutboxDraft[] }> {
  const { trx } = scope;
  const row = await insertIncident(trx, {
    severity: input.severity,
    title: input.title.trim(),
    area: input.area ?? null,
    openedBy: input.openedBy,
  });
  if (input.note?.trim())
    await insertEntry(trx, {
      incidentId: row.id,
      kind: "note",
      actor: input.openedBy,
      text: input.note.trim(),
    });
  await refreshOpsAlerts(trx);
  const incident = { id: row.id, number: row.number, severity: row.severity, title: row.title };
  const owner = input.area ? await activeAreaOwner(trx, input.area) : undefined;
  const outbox =
    owner && input.area
      ? [
          incidentOpenedEmail({
            owner,
            incident,
            areaLabel: AREA_LABELS[input.area],
            openedBy: input.openedBy,
            note: input.note,
            clubName: scope.clubName,
            publicUrl: scope.publicUrl,
          }),
        ]
      : [];
  return { incident, outbox };
}

/** A problem a job finds again and again (the invariant scan, the backup job): a note on the incident
 * it opened and nobody closed yet, or a new incident when there is none (its owner told then, not at
 * each note). */
export async function openOrNoteIncidentIn(
  scope: OpeningScope,
  input: Opening & { area: Area; note: string },
): Promise<{ incident: IncidentRef; opened: boolean; outbox: OutboxDraft[] }> {
  const open = await openIncidentOpenedBy(scope.trx, input.openedBy);
  if (!open) return { ...(await openIncidentIn(scope, input)), opened: true };
  await insertEntry(scope.trx, {
    incidentId: open.id,
    kind: "note",
    actor: input.openedBy,
    text: input.note,
  });
  return { incident: open, opened: false, outbox: [] };
}

/** Records a decision (actor, action, rationale: H-4) on the given incidents, or on every open one,
 * inside the caller's transaction. Returns the incidents it went on; none means no incident is open,
 * and the caller should prompt to open one. */
export async function recordDecisionIn(
  trx: Kysely<DB>,
  input: { actor: string; action: string; rationale: string; incidentIds?: string[] },
): Promise<IncidentRef[]> {
  const targets = input.incidentIds
    ? await trx
        .selectFrom("incidents")
        .select(REF)
        .where("id", "in", input.incidentIds.length ? input.incidentIds : [UUID_NONE])
        .where("status", "=", "open")
        .execute()
    : await openIncidents(trx);
  for (const incident of targets)
    await insertEntry(trx, {
      incidentId: incident.id,
      kind: "decision",
      actor: input.actor,
      action: input.action,
      text: input.rationale,
    });
  return targets;
}

/** Attaches a written confirmation (who, what, counts, verification result: a restore's) to an
 * incident inside the caller's transaction. */
export async function addConfirmationIn(
  trx: Kysely<DB>,
  input: { incidentId: string; actor: string; text: string },
): Promise<void> {
  await insertEntry(trx, {
    incidentId: input.incidentId,
    kind: "confirmation",
    actor: input.actor,
    text: input.text,
  });
}

const UUID_NONE = "00000000-0000-0000-0000-000000000000";
/** How long a degraded state may last before it needs an incident (D-2). */
export const DEGRADED_GRACE_MS = 60 * 60_000;
const SINCE = (d: Date) => `${d.toISOString().replace("T", " ").slice(0, 16)} UTC`;

/** Recomputes the incident log's operator alerts inside the caller's transaction: one critical banner per
 * open SEV-1, a critical prompt when the system has been degraded for over an hour with no incident
 * open (D-2), and a warning naming the areas with no owner. Called by every incident and mode change,
 * and by the incident-watch job for the time-based prompt. */
export async function refreshOpsAlerts(trx: Kysely<DB>, now: Date = new Date()): Promise<void> {
  const open = await trx
    .selectFrom("incidents as i")
    .leftJoin("area_owners as o", "o.area", "i.area")
    .leftJoin("members as m", (j) => j.onRef("m.id", "=", "o.member_id").on("m.deleted_at", "is", null))
    .select(["i.id", "i.number", "i.severity", "i.title", "i.area", "m.name as owner"])
    .where("i.status", "=", "open")
    .execute();
  const sev1 = open.filter((i) => i.severity === "SEV-1");
  for (const i of sev1) {
    const owner = i.area ? ` Owner of ${AREA_LABELS[i.area as Area]}: ${i.owner ?? "nobody named"}.` : "";
    await raiseAlert(trx, {
      key: `ops.incident:${i.id}`,
      severity: "critical",
      message: `SEV-1 incident INC-${i.number} is open: ${i.title}.${owner}`,
      link: `/admin/incidents/${i.id}`,
    });
  }
  await clearAlertsLike(
    trx,
    "ops.incident:",
    sev1.map((i) => `ops.incident:${i.id}`),
  );

  const state = await trx.selectFrom("system_state").select(["degraded_since", "mode"]).executeTakeFirst();
  const since = state?.degraded_since ? new Date(state.degraded_since) : null;
  if (since && open.length === 0 && now.getTime() - since.getTime() > DEGRADED_GRACE_MS) {
    await raiseAlert(trx, {
      key: "ops.degraded_without_incident",
      severity: "critical",
      message:
        `The site has been degraded (${state?.mode === "normal" ? "a kill switch is on" : `${state?.mode} mode`}) since ${SINCE(since)}, ` +
        "over an hour, and no incident is open. Open an incident and note why (D-2).",
      link: "/admin/incidents",
      since,
    });
  } else await clearAlert(trx, "ops.degraded_without_incident");

  const owners = await listAreaOwners(trx);
  const missing = owners.filter((o) => !o.active).map((o) => o.label);
  if (missing.length)
    await raiseAlert(trx, {
      key: "ops.area_owners",
      severity: "warning",
      message: `No owner for: ${missing.join(", ")}. Name one for each area on the incidents page.`,
      link: "/admin/incidents",
    });
  else await clearAlert(trx, "ops.area_owners");
}

/** A failed check, as one line of an incident note: the rule, the count and the first rows. */
export function describeFailedCheck(check: CheckResult, rows = 5): string {
  if (check.error) return `${check.id} (${check.rule}) could not run: ${check.error}`;
  const sample = check.sample
    .slice(0, rows)
    .map((v) => `${v.subject_type} ${v.subject_id}: ${v.detail}`)
    .join("; ");
  const more = check.violations > rows ? `; and ${check.violations - rows} more` : "";
  return `${check.id} (${check.rule}): ${check.violations} row(s) break "${check.description}": ${sample}${more}`;
}
