-- Seats and waitlist length per event, kept by the triggers of functions/clubos_event_tally_row.sql
-- and functions/clubos_registration_tally.sql, so that taking a place reads two numbers instead of
-- counting every registration of the event under the event's lock (that count grew with the event:
-- the 3,000th registration of a stampede waited on 2,999 rows).
CREATE TABLE event_tallies (
  event_id uuid PRIMARY KEY REFERENCES events (id) ON DELETE CASCADE,
  confirmed_seats integer NOT NULL DEFAULT 0 CHECK (confirmed_seats >= 0),
  waitlisted integer NOT NULL DEFAULT 0 CHECK (waitlisted >= 0)
);

INSERT INTO event_tallies (event_id, confirmed_seats, waitlisted)
SELECT e.id,
       coalesce(sum(1 + cardinality(r.guest_names)) FILTER (WHERE r.status = 'confirmed'), 0),
       count(r.id) FILTER (WHERE r.status = 'waitlisted')
FROM events e LEFT JOIN registrations r ON r.event_id = e.id
GROUP BY e.id;
