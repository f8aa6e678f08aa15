import pg from "pg";

/** The size of a benchmark club. */
export interface ClubSize {
  members: number;
  events: number;
  audit: number;
}

/** The benchmark club at BENCH_SCALE (1: 100,000 members, 20,000 events with registrations,
 * 1,000,000 audit entries). */
export function bigClubSize(scale = Number(process.env.BENCH_SCALE || 1)): ClubSize & { scale: number } {
  return {
    scale,
    members: Math.round(100_000 * scale),
    events: Math.round(20_000 * scale),
    audit: Math.round(1_000_000 * scale),
  };
}

/** One statement with parameters, on whichever engine (pg.Client or PGlite). */
export type Query = (text: string, params?: unknown[]) => Promise<unknown>;

/** Fills a migrated PostgreSQL database with a benchmark club using set-based SQL. */
export async function seedBigClub(url: string, size: ClubSize): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await seedBigClubWith((text, params) => c.query(text, params), size);
  } finally {
    await c.end();
  }
}

/** seedBigClub through any connection (the embedded bench seeds its PGlite this way). */
export async function seedBigClubWith(q: Query, size: ClubSize): Promise<void> {
  const c = { query: q };
  // Bench data only: triggers off for speed (tallies and timestamps are not what is measured).
  await c.query("BEGIN");
  await c.query("SET LOCAL session_replication_role = replica");
  await c.query(
    `INSERT INTO members (name, email) SELECT 'Bench Member ' || i, 'bench' || i || '@example.org'
       FROM generate_series(1, $1::int) i`,
    [size.members],
  );
  await c.query(
    `INSERT INTO events (title, description, starts_at, ends_at, capacity, status, audience)
       SELECT 'Event ' || i, repeat('An evening at the club. ', 4), now() + i * interval '1 hour',
              now() + i * interval '1 hour' + interval '2 hours', 50, 'published', 'public'
       FROM generate_series(1, $1::int) i`,
    [size.events],
  );
  await c.query(
    `INSERT INTO registrations (event_id, member_id, status)
       SELECT e.id, m.id, 'confirmed'
       FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM members) m
       JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM events) e ON e.rn = 1 + m.rn % $1::int`,
    [size.events],
  );
  // What the triggers would have written, so the data passes every invariant check.
  await c.query(
    `INSERT INTO member_status_history (member_id, from_status, to_status, reason, changed_by)
       SELECT id, NULL, status, 'bench seed', 'system:bench' FROM members`,
  );
  await c.query(
    `INSERT INTO event_tallies (event_id, confirmed_seats, waitlisted)
       SELECT e.id, coalesce(sum(1 + cardinality(r.guest_names)) FILTER (WHERE r.status = 'confirmed'), 0),
              count(r.id) FILTER (WHERE r.status = 'waitlisted')
       FROM events e LEFT JOIN registrations r ON r.event_id = e.id GROUP BY e.id`,
  );
  await c.query(
    `INSERT INTO audit_log (actor_type, actor_id, action, subject_type, subject_id, after)
       SELECT 'system', 'system:bench', 'member.updated', 'member', md5(i::text),
              jsonb_build_object('name', 'Bench Member ' || i, 'n', i)
       FROM generate_series(1, $1::int) i`,
    [size.audit],
  );
  await c.query("COMMIT");
  await c.query("VACUUM ANALYZE");
}
