import { iso, isoOrNull } from "../../http/present.ts";
import type { AttendanceOut, EventOut, ManagedRegistrationOut, RegistrationOut } from "./events.schemas.ts";

/* What the events API shows of its rows: camelCase, ISO 8601 times, no internal columns. Every JSON
 * response of the events routes goes through one of these (and its schema in events.schemas.ts). */

/** An event row as the database holds it. */
export interface EventRow {
  id: string;
  title: string;
  description: string;
  location: string;
  starts_at: Date;
  ends_at: Date;
  capacity: number;
  registration_opens_at: Date | null;
  registration_closes_at: Date | null;
  audience: string;
  status: string;
  committee_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

/** An event for the API. */
export function presentEvent(e: EventRow): EventOut {
  return {
    id: e.id,
    title: e.title,
    description: e.description,
    location: e.location,
    startsAt: iso(e.starts_at),
    endsAt: iso(e.ends_at),
    capacity: e.capacity,
    registrationOpensAt: isoOrNull(e.registration_opens_at),
    registrationClosesAt: isoOrNull(e.registration_closes_at),
    audience: e.audience as EventOut["audience"],
    status: e.status as EventOut["status"],
    committeeId: e.committee_id,
    version: e.version,
    createdAt: iso(e.created_at),
    updatedAt: iso(e.updated_at),
  };
}

/** A member's registration, as registering answers it. */
export function presentRegistration(r: {
  id: string;
  eventId: string;
  status: "confirmed" | "waitlisted";
  waitlistPosition: number | null;
  guests: string[];
}): RegistrationOut {
  return {
    id: r.id,
    eventId: r.eventId,
    status: r.status,
    waitlistPosition: r.waitlistPosition,
    guests: r.guests,
  };
}

/** Attendance of one registration. */
export function presentAttendance(r: {
  id: string;
  event_id: string;
  status: string;
  checked_in_at: Date | null;
  no_show: boolean;
  version: number;
}): AttendanceOut {
  return {
    id: r.id,
    eventId: r.event_id,
    status: r.status,
    checkedInAt: isoOrNull(r.checked_in_at),
    noShow: r.no_show,
    version: r.version,
  };
}

/** A registration for those who manage its event. */
export function presentManagedRegistration(r: {
  id: string;
  member_id: string;
  member_name: string;
  member_email: string;
  status: string;
  waitlist_position: number | null;
  guest_names: string[];
  checked_in_at: Date | null;
  no_show: boolean;
  cancelled_at: Date | null;
  version: number;
  created_at: Date;
}): ManagedRegistrationOut {
  return {
    id: r.id,
    memberId: r.member_id,
    memberName: r.member_name,
    memberEmail: r.member_email,
    status: r.status,
    waitlistPosition: r.waitlist_position,
    guestNames: r.guest_names,
    checkedInAt: isoOrNull(r.checked_in_at),
    noShow: r.no_show,
    cancelledAt: isoOrNull(r.cancelled_at),
    version: r.version,
    createdAt: iso(r.created_at),
  };
}
