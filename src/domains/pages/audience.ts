import { audienceIsValid } from "./page-content.ts";
import type { AudienceRule, LeafRule } from "./pages.schemas.ts";

/* The one audience decision: who may see a page revision or a block. A pure function of the
 * stored rule and the viewer's facts, which are loaded once per request (pages.repository viewerOf)
 * before anything is rendered. A rule that does not match the schema (unknown type, malformed list) or
 * a viewer whose facts could not be read denies: the only thing allowed without facts is "public". */

/** What the audience decision knows about who is asking. */
export type Viewer =
  | { kind: "anonymous" }
  /** A signed-in member whose facts could not be read: only public content. */
  | { kind: "unknown" }
  | {
      kind: "member";
      memberId: string;
      status: string;
      /** Whether their status carries the member rights (members' STATUSES_WITH_MEMBER_RIGHTS, read by
       * viewerOf in the same SQL as identity's roles): what the "signed-in members" rule admits. */
      memberRights: boolean;
      tier: string | null;
      /** Committees they sit on now, in any role. */
      committees: ReadonlySet<string>;
      /** Roles they hold now. */
      roles: ReadonlySet<string>;
    };

export const ANONYMOUS: Viewer = { kind: "anonymous" };

/** The rule every page starts with. */
export const PUBLIC_RULE: AudienceRule = { type: "public" };
/** Any signed-in member who holds the member rights (a suspended, lapsed or expired member does not, nor
 * an administrator whose own membership lacks them: editors still see every revision through previews). */
export const MEMBERS_RULE: AudienceRule = { type: "members" };

function leafAllows(rule: LeafRule, viewer: Viewer): boolean {
  if (rule.type === "public") return true;
  if (viewer.kind !== "member") return false;
  switch (rule.type) {
    case "members":
      return viewer.memberRights;
    case "statuses":
      return rule.statuses.includes(viewer.status);
    // A tier or a committee is a kind of membership: a suspended or lapsed member keeps both on record
    // but not what they open.
    case "tiers":
      return viewer.memberRights && viewer.tier !== null && rule.tiers.includes(viewer.tier);
    case "committees":
      return viewer.memberRights && rule.committees.some((c) => viewer.committees.has(c));
    case "roles":
      return rule.roles.some((r) => viewer.roles.has(r));
  }
}

/** May this viewer see what this rule guards? Anything unreadable denies. */
export function audienceAllows(rule: unknown, viewer: Viewer): boolean {
  if (!audienceIsValid(rule)) return false;
  const r = rule as AudienceRule;
  if (r.type === "any_of") return r.rules.some((leaf) => leafAllows(leaf, viewer));
  return leafAllows(r, viewer);
}

/** True when the rule lets everyone in: what may be kept by a shared cache. */
export function isPublicRule(rule: unknown): boolean {
  return audienceAllows(rule, ANONYMOUS);
}

/** A block's own audience on top of its revision's: none means "as the page"; a members-only note is
 * for signed-in members with the member rights whatever its rule says. */
export function blockAllows(block: { type: string; audience: unknown }, viewer: Viewer): boolean {
  if (block.audience !== null && block.audience !== undefined && !audienceAllows(block.audience, viewer))
    return false;
  if (block.type === "members_note" && !audienceAllows(MEMBERS_RULE, viewer)) return false;
  return true;
}

/** Whether a block narrows who sees it compared with its page (a restricted block on a public page
 * makes the page personal: never kept by a shared cache). */
export function blockIsRestricted(block: { type: string; audience: unknown }): boolean {
  return !blockAllows(block, ANONYMOUS);
}

/** The rule in words, for the editor. */
export function describeAudience(rule: unknown, names: { committees?: Map<string, string> } = {}): string {
  if (!audienceIsValid(rule)) return "nobody (the rule cannot be read)";
  const r = rule as AudienceRule;
  const leaf = (l: LeafRule): string => {
    switch (l.type) {
      case "public":
        return "everyone";
      case "members":
        return "signed-in members in good standing";
      case "statuses":
        return `members who are ${l.statuses.join(" or ")}`;
      case "tiers":
        return `members in good standing of the ${l.tiers.join(" or ")} tier`;
      case "committees":
        return `members in good standing of ${l.committees.map((c) => names.committees?.get(c) ?? "a committee").join(" or ")}`;
      case "roles":
        return `holders of the ${l.roles.join(" or ")} role`;
    }
  };
  return r.type === "any_of" ? r.rules.map(leaf).join("; or ") : leaf(r);
}
