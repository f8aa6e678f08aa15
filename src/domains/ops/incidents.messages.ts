import type { OutboxDraft } from "../../core/action.ts";
import { clubMessage } from "../mail/message.presenters.ts";
import type { IncidentRef } from "./incidents.repository.ts";

/** The mail that tells an area's owner of an incident opened in it (H-2). */
export function incidentOpenedEmail(mail: {
  owner: { id: string; name: string; email: string };
  incident: IncidentRef;
  /** How pages name the area ("data and backups"). */
  areaLabel: string;
  openedBy: string;
  note?: string;
  clubName: string;
  publicUrl?: string;
}): OutboxDraft {
  const { incident } = mail;
  const path = `/admin/incidents/${incident.id}`;
  const note = mail.note?.trim();
  return clubMessage({
    topic: "incident.opened",
    recipient: mail.owner.email,
    clubName: mail.clubName,
    name: mail.owner.name,
    subject: `INC-${incident.number} (${incident.severity}) in ${mail.areaLabel}: ${incident.title}`,
    lines: [
      `An incident was opened in ${mail.areaLabel}, the area you own for ${mail.clubName}:`,
      "",
      `INC-${incident.number} (${incident.severity}): ${incident.title}`,
      `Opened by: ${mail.openedBy}`,
      ...(note ? ["", note] : []),
      "",
      "Its timeline, and what to do next, are on its page:",
      mail.publicUrl ? `${mail.publicUrl}${path}` : path,
      "",
      "You get this message because you are named the owner of this area (the operator page, Incidents).",
    ],
    payload: { incidentId: incident.id, memberId: mail.owner.id },
  });
}
