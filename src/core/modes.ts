import type { Kysely } from "kysely";
import type { Database } from "./db/connect.ts";
import type { DB } from "./db/schema.ts";

/** The system mode and kill switches (O3, D-3), as stored in the one system_state row. */
export interface SystemState {
  mode: "normal" | "read-only" | "maintenance";
  publishFreeze: boolean;
  adminFreeze: boolean;
  previewOff: boolean;
  reason: string | null;
  changedBy: string;
  changedAt: Date;
  version: number;
}

/** The switches an operator can flip besides the mode. */
export const SWITCHES = ["publish_freeze", "admin_freeze", "preview_off"] as const;
/** One kill switch name as stored. */
export type SwitchName = (typeof SWITCHES)[number];

/** Reads the state; throws if it cannot, and callers treat that as "writes refused". */
export async function readSystemState(db: Kysely<DB>): Promise<SystemState> {
  const row = await db.selectFrom("system_state").selectAll().where("id", "=", 1).executeTakeFirstOrThrow();
  return {
    mode: row.mode as SystemState["mode"],
    publishFreeze: row.publish_freeze,
    adminFreeze: row.admin_freeze,
    previewOff: row.preview_off,
    reason: row.reason,
    changedBy: row.changed_by,
    changedAt: new Date(row.updated_at),
    version: row.version,
  };
}

/** Keeps this process's view of the state fresh: NOTIFY for speed, polling as the fallback.
 * When the state cannot be read, current() is null and every write is refused. */
export class ModeWatcher {
  private state: SystemState | null = null;
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

  /** Reads now; on failure forgets the state so that writes are refused until it is readable again. */
  async refresh(): Promise<SystemState | null> {
    try {
      this.state = await readSystemState(this.database.db);
    } catch {
      this.state = null;
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
