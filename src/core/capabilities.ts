/** The one catalogue of capabilities and built-in roles (INV-3). Capabilities are `resource:verb`;
 * each belongs to a class, and a role may only hold capabilities of its class or below. */

/** Who a capability is meant for; roles of a lower class can never carry a higher one. */
export type CapabilityClass = "member" | "admin" | "operator";
const CLASS_RANK: Record<CapabilityClass, number> = { member: 0, admin: 1, operator: 2 };

export const CAPABILITIES = {
  "profile:write": { class: "member", description: "Edit one's own contact details" },
  "directory:read": { class: "member", description: "Read the member directory" },
  "events:register": { class: "member", description: "Register for events" },
  "admin:access": { class: "admin", description: "Open the admin console" },
  "members:read": { class: "admin", description: "Read all member records" },
  "members:write": { class: "admin", description: "Create and change member records" },
  "roles:grant": { class: "admin", description: "Grant and end role assignments" },
  "events:manage": { class: "admin", description: "Create and run events" },
  "pages:edit": { class: "admin", description: "Edit page drafts" },
  "pages:publish": { class: "admin", description: "Publish and unpublish pages" },
  "pages:preview": { class: "admin", description: "Preview unpublished pages" },
  "audit:read": { class: "admin", description: "Read the audit log" },
  "incidents:manage": {
    class: "admin",
    description: "Declare, note and close incidents, and name the owner of each critical area",
  },
  "backups:restore": {
    class: "admin",
    description: "Restore a backup over the club's data, and sign off another person's restore",
  },
  "backups:operate": {
    class: "admin",
    description: "See the backups page, and take a backup or run a restore drill now",
  },
  "system:operate": { class: "operator", description: "Change modes and kill switches, run operator tools" },
} as const satisfies Record<string, { class: CapabilityClass; description: string }>;

/** A capability name from the catalogue. */
export type Capability = keyof typeof CAPABILITIES;

/** True if the string names a catalogued capability. */
export function isCapability(name: string): name is Capability {
  return Object.hasOwn(CAPABILITIES, name);
}

const MEMBER: Capability[] = ["profile:write", "directory:read", "events:register"];

/** Built-in roles; the keys match rows in the roles table. */
export const ROLES = {
  member: { name: "Member", class: "member", capabilities: MEMBER },
  events_chair: {
    name: "Events chair",
    class: "admin",
    capabilities: [...MEMBER, "admin:access", "events:manage"],
  },
  membership_chair: {
    name: "Membership chair",
    class: "admin",
    capabilities: [...MEMBER, "admin:access", "members:read", "members:write"],
  },
  web_editor: {
    name: "Web editor",
    class: "admin",
    capabilities: [...MEMBER, "admin:access", "pages:edit", "pages:preview"],
  },
  full_admin: {
    name: "Full administrator",
    class: "admin",
    capabilities: [
      ...MEMBER,
      "admin:access",
      "members:read",
      "members:write",
      "roles:grant",
      "events:manage",
      "pages:edit",
      "pages:publish",
      "pages:preview",
      "audit:read",
      "incidents:manage",
      "backups:operate",
      "backups:restore",
    ],
  },
  operator: {
    name: "Operator",
    class: "operator",
    capabilities: [
      "admin:access",
      "audit:read",
      "incidents:manage",
      "backups:operate",
      "backups:restore",
      "system:operate",
    ],
  },
} as const satisfies Record<string, { name: string; class: CapabilityClass; capabilities: Capability[] }>;

/** A built-in role key. */
export type RoleKey = keyof typeof ROLES;

/** True if the string names a built-in role. */
export function isRoleKey(name: string): name is RoleKey {
  return Object.hasOwn(ROLES, name);
}

/** Capabilities a role carries that are above its class; the catalogue test requires none. */
export function capabilitiesOutsideClass(role: RoleKey): Capability[] {
  const def = ROLES[role];
  return def.capabilities.filter((c) => CLASS_RANK[CAPABILITIES[c].class] > CLASS_RANK[def.class]);
}

/** The union of the roles' capabilities, sorted: the same roles always give the same answer. */
export function capabilitiesOf(roles: Iterable<string>): Capability[] {
  const out = new Set<Capability>();
  for (const role of roles) {
    if (!isRoleKey(role)) continue; // an unknown role grants nothing (fail closed)
    for (const cap of ROLES[role].capabilities) out.add(cap);
  }
  return [...out].sort();
}
