import { sql } from "kysely";
import type { InvariantCheck, Violation } from "../../core/invariants.ts";

/** The events checks (INV-6, INV-8, INV-9): capacity, tallies, one active registration, a dense waitlist,
 * live references, timestamps. */
export const eventsInvariantChecks: InvariantCheck[] = [
  {
    id: "events.capacity",
    rule: "INV-6",
    description: "confirmed seats (registrations plus their guests) never exceed an event's capacity",
    sql: sql<Violation>`
      SELECT 'event' AS subject_type, e.id::text AS subject_id,
             'confirmed seats ' || s.seats::text || ' exceed capacity ' || e.capacity::text AS detail
      FROM events e
      JOIN (SELECT event_id, sum(1 + cardinality(guest_names)) AS seats FROM registrations
            WHERE status = 'confirmed' GROUP BY event_id) s ON s.event_id = e.id
      WHERE s.seats > e.capacity`,
  },
  {
    id: "events.tallies",
    rule: "INV-6",
    description:
      "each event's tally (the seats and waitlist length registration reads) matches its registrations",
    sql: sql<Violation>`
      SELECT 'event' AS subject_type, e.id::text AS subject_id,
             CASE WHEN t.event_id IS NULL THEN 'the event has no tally row'
                  ELSE 'tally says ' || t.confirmed_seats::text || ' seats and ' || t.waitlisted::text
                       || ' waiting; registrations say ' || c.seats::text || ' and ' || c.waiting::text END AS detail
      FROM events e
      LEFT JOIN event_tallies t ON t.event_id = e.id
      -- One pass over registrations grouped by event (set-based), not one lookup per event.
      LEFT JOIN (
        SELECT r.event_id,
               coalesce(sum(1 + cardinality(r.guest_names)) FILTER (WHERE r.status = 'confirmed'), 0) AS seats,
               count(*) FILTER (WHERE r.status = 'waitlisted') AS waiting
        FROM registrations r GROUP BY r.event_id) g ON g.event_id = e.id
      CROSS JOIN LATERAL (SELECT coalesce(g.seats, 0) AS seats, coalesce(g.waiting, 0) AS waiting) c
      WHERE t.event_id IS NULL OR t.confirmed_seats <> c.seats OR t.waitlisted <> c.waiting`,
  },
  {
    id: "events.one_active_registration",
    rule: "INV-6",
    description: "a member has at most one active (confirmed or waitlisted) registration per event",
    sql: sql<Violation>`
      SELECT 'event' AS subject_type, event_id::text AS subject_id,
             'member ' || member_id::text || ' has ' || count(*)::text || ' active registrations' AS detail
      FROM registrations WHERE status IN ('confirmed', 'waitlisted')
      GROUP BY event_id, member_id HAVING count(*) > 1`,
  },
  {
    id: "events.waitlist_dense",
    rule: "INV-6",
    description: "waitlist positions of an event are exactly 1..n, in order of joining",
    sql: sql<Violation>`
      SELECT 'registration' AS subject_type, id::text AS subject_id,
             'waitlist position ' || coalesce(waitlist_position::text, 'none') || ' should be ' || expected::text AS detail
      FROM (SELECT id, waitlist_position,
                   row_number() OVER (PARTITION BY event_id ORDER BY waitlist_position, created_at) AS expected
            FROM registrations WHERE status = 'waitlisted') w
      WHERE waitlist_position IS DISTINCT FROM expected`,
  },
  {
    id: "events.live_references",
    rule: "INV-8",
    description:
      "registrations reference existing members and events, and no deleted member holds a place at an open event",
    sql: sql<Violation>`
      SELECT 'registration' AS subject_type, r.id::text AS subject_id,
             CASE WHEN e.id IS NULL THEN 'its event does not exist'
                  WHEN m.id IS NULL THEN 'its member does not exist'
                  ELSE 'its member is deleted' END AS detail
      FROM registrations r
      LEFT JOIN events e ON e.id = r.event_id
      LEFT JOIN members m ON m.id = r.member_id
      WHERE e.id IS NULL OR m.id IS NULL
         OR (m.deleted_at IS NOT NULL AND r.status IN ('confirmed', 'waitlisted') AND e.status IN ('draft', 'published'))`,
  },
  {
    id: "events.timestamps",
    rule: "INV-9",
    description: "created_at <= updated_at on events, registrations and committees",
    sql: sql<Violation>`
      SELECT 'event' AS subject_type, id::text AS subject_id, 'created_at is after updated_at' AS detail FROM events WHERE created_at > updated_at
      UNION ALL SELECT 'registration', id::text, 'created_at is after updated_at' FROM registrations WHERE created_at > updated_at
      UNION ALL SELECT 'committee', id::text, 'created_at is after updated_at' FROM committees WHERE created_at > updated_at`,
  },
];
