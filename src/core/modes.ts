import { type Kysely, sql } from "kysely";
import { alertFromRow, type OperatorAlert, sortAlerts } from "./alerts.ts";
import type { Database } from "./db/connect.ts";
import type { DB } from "./db/schema.ts";
import { type ClubError, frozen, isDatabaseDown, readOnly, sqlState, stateUnknown } from "./errors.ts";

/** The system mode and kill switches (O3, D-3), as stored in the one system_state row. */
export interface SystemState {
  mode: Mode;
  publishFreeze: boolean;
  adminFreeze: boolean;
  previewOff: boolean;
  reason: string | null;
  changedBy: string;
  changedAt: Date;
  version: number;
  /** Since when the system has not been fully normal (any mode but normal, or a switch on); null when it
   * is. Kept by the database (clubos_degraded_since), read for D-2: degraded over an hour needs an incident. */
  degradedSince: Date | null;
}

/** The modes, in the order an operator escalates through them. */
export const MODES = ["normal", "read-only", "maintenance"] as const;
/** A system mode. */
export type Mode = (typeof MODES)[number];

/** True if the string names a mode. */
export function isMode(value: string): value is Mode {
  return (MODES as readonly string[]).includes(value);
}

/** The switches an operator can flip besides the mode. */
export const SWITCHES = ["publish_freeze", "admin_freeze", "preview_off"] as const;
/** One kill switch name as stored. */
export type SwitchName = (typeof SWITCHES)[number];

/* The one mode decision (W-8, D-3). Every action declares its effect; this table says which modes and
 * switches stop it, and modeRefusal turns (effect, state) into the refusal people see. Routes derive
 * their declared degraded behaviour from it (src/http/routes.ts), runAction builds its messages with it,
 * and clubos_audit_write, the last line of defence inside every action's transaction, applies the same
 * table in SQL; test/unit/mode-decision.test.ts and test/integration/mode-agreement.test.ts hold the
 * two to one answer for every effect, mode and switch. */
export const EFFECTS = {
  /** An audited read (the member export): it writes only its audit entry, so it serves in every mode. */
  read: { refusedInModes: false, frozenBy: null, needsState: false },
  /** An ordinary write: refused in read-only and maintenance mode. */
  write: { refusedInModes: true, frozenBy: null, needsState: true },
  /** An admin write: also refused under the admin freeze. */
  admin: { refusedInModes: true, frozenBy: "admin_freeze", needsState: true },
  /** Publishing: also refused under the publish freeze. */
  publish: { refusedInModes: true, frozenBy: "publish_freeze", needsState: true },
  /** The operator's way out (mode switch, admin recovery, login): allowed in every mode. */
  recovery: { refusedInModes: false, frozenBy: null, needsState: false },
} as const satisfies Record<
  string,
  { refusedInModes: boolean; frozenBy: SwitchName | null; needsState: boolean }
>;

/** What kind of change an action makes, which decides the modes and switches that stop it. */
export type ActionEffect = keyof typeof EFFECTS;

const FROZEN_WHAT: Record<SwitchName, string> = {
  admin_freeze: "Admin changes",
  publish_freeze: "Publishing changes",
  preview_off: "Previews",
};

function switchOn(state: SystemState, name: SwitchName): boolean {
  return name === "admin_freeze"
    ? state.adminFreeze
    : name === "publish_freeze"
      ? state.publishFreeze
      : state.previewOff;
}

/** The refusal for an action of this effect in this state, or null when it may go ahead. A state that
 * cannot be read refuses everything that needs it (fail closed). */
export function modeRefusal(effect: ActionEffect, state: SystemState | null): ClubError | null {
  const rule = EFFECTS[effect];
  if (!rule.needsState) return null;
  if (!state) return stateUnknown();
  if (rule.refusedInModes && state.mode !== "normal") return readOnly(state.reason, state.mode);
  if (rule.frozenBy && switchOn(state, rule.frozenBy))
    return frozen(FROZEN_WHAT[rule.frozenBy], state.reason);
  return null;
}

/** The state a refusal raised in SQL carries (clubos_audit_write, CB001), as JSON. */
export function stateFromRefusal(detail: {
  mode: string;
  reason: string | null;
  admin_freeze: boolean;
  publish_freeze: boolean;
  preview_off: boolean;
}): SystemState {
  return {
    mode: detail.mode as Mode,
    reason: detail.reason,
    adminFreeze: detail.admin_freeze,
    publishFreeze: detail.publish_freeze,
    previewOff: detail.preview_off,
    changedBy: "",
    changedAt: new Date(0),
    version: 0,
    degradedSince: null,
  };
}

type StateRow = {
  mode: string;
  publish_freeze: boolean;
  admin_freeze: boolean;
  preview_off: boolean;
  reason: string | null;
  changed_by: string;
  updated_at: Date;
  version: number;
  degraded_since: Date | null;
};

function stateFromRow(row: StateRow): SystemState {
  return {
    mode: row.mode as SystemState["mode"],
    publishFreeze: row.publish_freeze,
    adminFreeze: row.admin_freeze,
    previewOff: row.preview_off,
    reason: row.reason,
    changedBy: row.changed_by,
    changedAt: new Date(row.updated_at),
    version: row.version,
    degradedSince: row.degraded_since ? new Date(row.degraded_since) : null,
  };
}

/** Reads the state; throws if it cannot, and callers treat that as "writes refused". */
export async function readSystemState(db: Kysely<DB>): Promise<SystemState> {
  const row = await db.selectFrom("system_state").selectAll().where("id", "=", 1).executeTakeFirstOrThrow();
  return stateFromRow(row);
}

/** The state and the raised operator alerts (src/core/alerts.ts) in one statement: what the watcher
 * polls, so that every page can show both without a query of its own. */
export async function readStateAndAlerts(
  db: Kysely<DB>,
): Promise<{ state: SystemState; alerts: OperatorAlert[] }> {
  const row = await db
    .selectFrom("system_state")
    .selectAll()
    .select(sql<unknown>`(SELECT coalesce(json_agg(a), '[]'::json) FROM operator_alerts a)`.as("alerts"))
    .where("id", "=", 1)
    .executeTakeFirstOrThrow()
    .catch(async (error) => {
      // A database from before the alerts table (migration 0015, not applied yet): the mode still
      // decides what is refused, so read it alone rather than refuse every write.
      if (sqlState(error) !== "42P01") throw error;
      return {
        ...(await db.selectFrom("system_state").selectAll().where("id", "=", 1).executeTakeFirstOrThrow()),
        alerts: [],
      };
    });
  const raw = typeof row.alerts === "string" ? JSON.parse(row.alerts) : row.alerts;
  return { state: stateFromRow(row), alerts: sortAlerts((raw as never[]).map(alertFromRow)) };
}

/** Keeps this process's view of the state fresh: NOTIFY for speed, polling as the fallback.
 * When the state cannot be read, current() is null and every write is refused. */
export class ModeWatcher {
  private state: SystemState | null = null;
  private raised: OperatorAlert[] = [];
  private reachable = true;
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly database: Database,
    private readonly pollMs: number,
  ) {}

  /** The last state read successfully, or null when the last read failed. */
  current(): SystemState | null {
    return this.state;
  }

  /** The operator alerts raised at the last read (kept from the read before when it failed). */
  alerts(): readonly OperatorAlert[] {
    return this.raised;
  }

  /** False while the last read failed because the database could not be reached at all: routes that
   * need the database then answer 503 at once, whoever asks, instead of half-working (D table). */
  databaseReachable(): boolean {
    return this.reachable;
  }

  /** Reads now; on failure forgets the state so that writes are refused until it is readable again. */
  async refresh(): Promise<SystemState | null> {
    try {
      const read = await readStateAndAlerts(this.database.db);
      this.state = read.state;
      this.raised = read.alerts;
      this.reachable = true;
    } catch (error) {
      this.state = null;
      this.reachable = !isDatabaseDown(error);
    }
    return this.state;
  }

  async start(): Promise<void> {
    await this.refresh();
    try {
      this.unlisten = await this.database.listen("clubos_state", () => void this.refresh());
    } catch {
      // Polling alone still brings changes within pollMs.
    }
    this.timer = setInterval(() => void this.refresh(), this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.unlisten?.();
  }
}
