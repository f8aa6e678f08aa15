/** Membership status as a declared state machine (INV-2): the one table of allowed transitions.
 * Anything not listed is refused by the app and reported by the invariant scan. */
export const MEMBER_STATUSES = ["pending", "active", "lapsed", "expired", "suspended", "resigned"] as const;
/** One membership status. */
export type MemberStatus = (typeof MEMBER_STATUSES)[number];

export const TRANSITIONS: Record<MemberStatus, readonly MemberStatus[]> = {
  pending: ["active", "resigned"],
  active: ["lapsed", "suspended", "resigned"],
  lapsed: ["active", "expired", "resigned"],
  expired: ["active", "resigned"],
  suspended: ["active", "resigned"],
  resigned: ["pending"],
};

/** True if the string is a status. */
export function isMemberStatus(value: string): value is MemberStatus {
  return (MEMBER_STATUSES as readonly string[]).includes(value);
}

/** True if the state machine allows going from one status to the other. */
export function canTransition(from: string, to: string): boolean {
  return isMemberStatus(from) && isMemberStatus(to) && TRANSITIONS[from].includes(to);
}

/** Every allowed (from, to) pair, for the invariant scan's SQL. */
export function allowedPairs(): Array<[MemberStatus, MemberStatus]> {
  return MEMBER_STATUSES.flatMap((from) =>
    TRANSITIONS[from].map((to) => [from, to] as [MemberStatus, MemberStatus]),
  );
}

/** The statuses whose members hold the member rights (the MEMBER capabilities: directory, registration,
 * their own details) without a per-person grant, and the only ones in which a granted role counts. A
 * lapsed, expired, suspended or resigned member loses them the moment the status changes: access is
 * read from the status on every request. */
export const STATUSES_WITH_MEMBER_RIGHTS = ["active"] as const satisfies readonly MemberStatus[];

/** True when a member with this status holds the member rights. */
export function carriesMemberRights(status: string): boolean {
  return (STATUSES_WITH_MEMBER_RIGHTS as readonly string[]).includes(status);
}
