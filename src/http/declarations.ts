/** The degraded behaviours most routes declare (D-1), and the common id schema, so each route file
 * names its choice instead of restating it. */

/** Reads: served in read-only mode, 503 without the database. */
export const READ = { readOnly: "serves", databaseDown: "503", frozenBy: "none" } as const;
/** Ordinary writes: refused in read-only mode. */
export const WRITE = { readOnly: "refused", databaseDown: "503", frozenBy: "none" } as const;
/** Admin writes: refused in read-only mode and under the admin freeze. */
export const ADMIN_WRITE = { readOnly: "refused", databaseDown: "503", frozenBy: "admin_freeze" } as const;
/** The ways out (login, logout, the operator's switches): allowed in read-only mode. */
export const RECOVERY = { readOnly: "allowed", databaseDown: "503", frozenBy: "none" } as const;
/** Routes that need no database at all (health, metrics, this API's description). */
export const NO_DB = { readOnly: "serves", databaseDown: "serves", frozenBy: "none" } as const;

/** Path parameters of routes addressed by one uuid `:id`. */
export const ID = {
  type: "object",
  required: ["id"],
  properties: { id: { type: "string", format: "uuid" } },
} as const;
