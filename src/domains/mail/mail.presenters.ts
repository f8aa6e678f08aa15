import type { MailDependency } from "../../http/context.ts";
import type { MailQueueStats } from "./outbox.repository.ts";

/** The mail dependency's state (G11) as /readyz reports it and `clubos status` prints it. */
export interface MailState {
  status: "ok" | "degraded" | "not configured" | "unknown";
  breaker: string;
  waiting?: number;
  oldestWaitingSeconds?: number;
  deadLetters?: number;
  lastError?: string;
}

/** The one definition of "mail is ok": a server is configured, its breaker closed and no dead letters;
 * "unknown" when the queue figures could not be read. */
export function presentMailState(
  mail: MailDependency | undefined,
  stats: MailQueueStats | null,
  now = new Date(),
): MailState {
  const breaker = mail?.breaker() ?? "unknown";
  const state: MailState = {
    status: !mail?.configured
      ? "not configured"
      : !stats
        ? "unknown"
        : breaker === "closed" && stats.dead === 0
          ? "ok"
          : "degraded",
    breaker,
  };
  if (stats) {
    state.waiting = stats.waiting;
    state.deadLetters = stats.dead;
    state.oldestWaitingSeconds = stats.oldestWaitingAt
      ? Math.round((now.getTime() - stats.oldestWaitingAt.getTime()) / 1000)
      : 0;
    if (stats.lastError) state.lastError = stats.lastError;
  }
  return state;
}
