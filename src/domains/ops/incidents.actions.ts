import { defineAction } from "../../core/action.ts";
import { actorRef } from "../../core/actor.ts";
import { invalidInput, notFound } from "../../core/errors.ts";
import { INCIDENT_ERRORS } from "./incidents.errors.ts";
import {
  AREA_LABELS,
  AREAS,
  type Area,
  activeMemberByEmail,
  closeIncidentRow,
  insertEntry,
  lockIncident,
  openIncidentIn,
  refreshOpsAlerts,
  SEVERITIES,
  type Severity,
  upsertAreaOwner,
} from "./incidents.repository.ts";
import { stopWritesIn } from "./stop-writes.ts";

/* The incident log's actions (H-1..H-4). Incidents are recorded while things are not normal, which is
 * when they matter: like the mode switches they are "recovery" actions, allowed in every mode and under
 * every freeze. They change no club data, only the record of what happened and who decided what. */

const INCIDENTS = { capability: "incidents:manage" } as const;

function required(text: string | undefined, what: string): string {
  const value = (text ?? "").trim();
  if (!value) throw invalidInput(`${what} is required.`);
  return value;
}

/** A severity from a form or the CLI. */
export function severityFrom(value: string | undefined): Severity {
  const v = (value ?? "").trim().toUpperCase();
  if ((SEVERITIES as readonly string[]).includes(v)) return v as Severity;
  throw invalidInput(`Unknown severity "${value ?? ""}". Use one of: ${SEVERITIES.join(", ")}.`);
}

/** An area from a form or the CLI; "" or undefined is none. */
export function areaFrom(value: string | undefined): Area | null {
  const v = (value ?? "").trim().toLowerCase();
  if (!v) return null;
  if ((AREAS as readonly string[]).includes(v)) return v as Area;
  throw invalidInput(`Unknown area "${value}". Use one of: ${AREAS.join(", ")}.`);
}

/** Declares an incident (any full admin or operator). A SEV-1 shows a banner on every admin page until
 * it is closed. With readOnly, writes stop in the same transaction (H-4: whoever may declare an incident
 * may freeze writes), recorded as the incident's first decision; leaving read-only stays an operator's
 * step (`clubos mode set normal`, /admin/system). */
export const openIncident = defineAction({
  name: "openIncident",
  access: INCIDENTS,
  effect: "recovery",
  async run(
    scope,
    input: { severity: string; title: string; area?: string; note?: string; readOnly?: boolean },
  ) {
    const { actor, state } = scope;
    const severity = severityFrom(input.severity);
    const title = required(input.title, "A title saying what is wrong");
    if (title.length > 200)
      throw invalidInput("The title is at most 200 characters; put the rest in a note.");
    const area = areaFrom(input.area);
    const who = actorRef(actor);
    const { incident, outbox } = await openIncidentIn(scope, {
      severity,
      title,
      area,
      openedBy: who,
      note: input.note,
    });
    if (input.readOnly && state?.mode !== "read-only") {
      const reason = `Incident INC-${incident.number} (${severity}): ${title}`;
      await stopWritesIn(scope, reason);
    }
    return {
      result: incident,
      audit: {
        action: "incident.opened",
        subjectType: "incident",
        subjectId: incident.id,
        after: { number: incident.number, severity, title, area, readOnly: Boolean(input.readOnly) },
      },
      outbox,
    };
  },
});

async function openIncidentFor(trx: Parameters<typeof lockIncident>[0], incidentId: string) {
  const incident = await lockIncident(trx, incidentId);
  if (!incident) throw notFound();
  if (incident.status !== "open")
    throw INCIDENT_ERRORS.incident_closed(`INC-${incident.number} is already closed; open a new incident.`);
  return incident;
}

/** Adds a note to an open incident's timeline. */
export const addIncidentNote = defineAction({
  name: "addIncidentNote",
  access: INCIDENTS,
  effect: "recovery",
  async run({ trx, actor }, input: { incidentId: string; text: string }) {
    const incident = await openIncidentFor(trx, input.incidentId);
    const text = required(input.text, "The note's text");
    const entry = await insertEntry(trx, {
      incidentId: incident.id,
      kind: "note",
      actor: actorRef(actor),
      text,
    });
    return {
      result: { id: entry.id, number: incident.number },
      audit: { action: "incident.noted", subjectType: "incident", subjectId: incident.id, after: { text } },
    };
  },
});

/** Records a decision by hand (an action taken outside ClubOS, say a password reset at the mail host),
 * with its rationale. Mode and switch changes record theirs themselves. */
export const recordDecision = defineAction({
  name: "recordDecision",
  access: INCIDENTS,
  effect: "recovery",
  async run({ trx, actor }, input: { incidentId: string; action: string; rationale: string }) {
    const incident = await openIncidentFor(trx, input.incidentId);
    const action = required(input.action, "What was decided");
    const rationale = required(input.rationale, "Why (the rationale)");
    await insertEntry(trx, {
      incidentId: incident.id,
      kind: "decision",
      actor: actorRef(actor),
      action,
      text: rationale,
    });
    return {
      result: { number: incident.number },
      audit: {
        action: "incident.decided",
        subjectType: "incident",
        subjectId: incident.id,
        after: { action },
        reason: rationale,
      },
    };
  },
});

/** Closes an incident. A SEV-1 needs its review (H-2: impact, data integrity, follow-ups). */
export const closeIncident = defineAction({
  name: "closeIncident",
  access: INCIDENTS,
  effect: "recovery",
  async run({ trx, actor }, input: { incidentId: string; review?: string }) {
    const incident = await openIncidentFor(trx, input.incidentId);
    const review = (input.review ?? "").trim() || null;
    if (incident.severity === "SEV-1" && !review)
      throw INCIDENT_ERRORS.incident_review_required(
        `INC-${incident.number} is a SEV-1: write its review (what happened, who was affected, whether data ` +
          "is intact, follow-ups) and close it with that review.",
      );
    const closed = await closeIncidentRow(trx, { id: incident.id, closedBy: actorRef(actor), review });
    if (!closed) throw INCIDENT_ERRORS.incident_closed(`INC-${incident.number} is already closed.`);
    await refreshOpsAlerts(trx);
    return {
      result: { id: closed.id, number: closed.number },
      audit: {
        action: "incident.closed",
        subjectType: "incident",
        subjectId: closed.id,
        before: { status: "open" },
        after: { status: "closed", review },
      },
    };
  },
});

/** Names the owner of a critical area: incidents in it go to them (by email, and on their pages). */
export const setAreaOwner = defineAction({
  name: "setAreaOwner",
  access: INCIDENTS,
  effect: "admin",
  async run({ trx, actor }, input: { area: string; email: string }) {
    const area = areaFrom(input.area);
    if (!area) throw invalidInput(`Say which area: ${AREAS.join(", ")}.`);
    const email = required(input.email, "The owner's email address");
    const member = await activeMemberByEmail(trx, email);
    if (!member)
      throw INCIDENT_ERRORS.unknown_owner(
        `No active member has the email address ${email}. An owner must be a current member.`,
      );
    const before = await upsertAreaOwner(trx, { area, memberId: member.id, setBy: actorRef(actor) });
    await refreshOpsAlerts(trx);
    return {
      result: { area, label: AREA_LABELS[area], memberId: member.id, name: member.name },
      audit: {
        action: "incident.owner_set",
        subjectType: "area_owner",
        subjectId: area,
        before: { memberId: before },
        after: { memberId: member.id },
      },
    };
  },
});
