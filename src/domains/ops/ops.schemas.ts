import { type Static, Type } from "typebox";
import { MODES } from "../../core/modes.ts";
import { Body, CalendarDate, FormBody, FormText, Instant, Query, Text, Uuid } from "../../http/schema.ts";

/* The ops routes' contract: the operator's forms and API, the audit and outbox filters, and what the
 * health, state and version routes answer. */

const Reason = Text(500, { minLength: 1, description: "Why; shown in the banner and kept in the audit log" });
const ModeName = Type.Enum(MODES);
/** A mode, or "unreadable" when the state cannot be read. */
const ModeSeen = Type.Enum([...MODES, "unreadable"]);
/** A date from a date input; the input sends "" when left empty. */
const DateOrEmpty = Type.Optional(Type.Union([Type.Literal(""), CalendarDate()]));

/** The mode form (the action checks the mode name and the reason, in its own words). */
export const ModeForm = FormBody({ mode: FormText(20), reason: FormText(500) });

/** A kill switch form: the switch, "true" to turn it on or "false" to turn it off, and why. */
export const SwitchForm = FormBody({ name: FormText(40), on: FormText(5), reason: FormText(500) });

/** POST /api/v1/system/mode. */
export const ModeBody = Body({ mode: ModeName, reason: Reason });

/** What a mode change answers. */
export const ModeOut = Type.Object({ mode: ModeName });

/** The audit log filters, all optional; beforeSeq pages back from an entry. */
export const AuditQuery = Query({
  actor: Type.Optional(Text(200, { description: "Part of the actor, e.g. member:<id> or operator:alice" })),
  action: Type.Optional(Text(100, { description: "An action, e.g. role.granted" })),
  subject: Type.Optional(Text(200, { description: "A subject id" })),
  from: DateOrEmpty,
  to: DateOrEmpty,
  beforeSeq: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
});
export type AuditQuery = Static<typeof AuditQuery>;

/** The mode and kill switches; only `mode` when the state cannot be read ("unreadable"). */
export const SystemStateOut = Type.Object({
  mode: ModeSeen,
  publishFreeze: Type.Optional(Type.Boolean()),
  adminFreeze: Type.Optional(Type.Boolean()),
  previewOff: Type.Optional(Type.Boolean()),
  reason: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  changedBy: Type.Optional(Type.String()),
  changedAt: Type.Optional(Instant()),
  version: Type.Optional(Type.Integer()),
});
export type SystemStateOut = Static<typeof SystemStateOut>;

/** The running version; only `version` ("unknown") when this process recorded no deploy. */
export const VersionOut = Type.Object({
  version: Type.String(),
  gitCommit: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  changeClass: Type.Optional(Type.String()),
  startedAt: Type.Optional(Instant()),
  host: Type.Optional(Type.String()),
  deployId: Type.Optional(Uuid()),
});
export type VersionOut = Static<typeof VersionOut>;

/** GET /healthz. */
export const AliveOut = Type.Object({ status: Type.Literal("alive") });

/** GET /readyz, with 200 or 503. */
export const ReadyOut = Type.Object({
  status: Type.Union([Type.Literal("ready"), Type.Literal("not ready")]),
  checks: Type.Object({
    database: Type.Union([Type.Literal("ok"), Type.Literal("unreachable")]),
    migrations: Type.Union([Type.Literal("current"), Type.Literal("not current"), Type.Literal("unknown")]),
    mode: ModeSeen,
  }),
  /** Dependencies readiness does not wait for (G11): reported, never a reason for 503. */
  degraded: Type.Optional(
    Type.Object({
      mail: Type.Object({
        status: Type.Union([
          Type.Literal("ok"),
          Type.Literal("degraded"),
          Type.Literal("not configured"),
          Type.Literal("unknown"),
        ]),
        breaker: Type.String({ description: "closed, open, half-open, or no server" }),
        waiting: Type.Optional(Type.Integer()),
        oldestWaitingSeconds: Type.Optional(Type.Integer()),
        deadLetters: Type.Optional(Type.Integer()),
        lastError: Type.Optional(Type.String()),
      }),
    }),
  ),
});
export type ReadyOut = Static<typeof ReadyOut>;
