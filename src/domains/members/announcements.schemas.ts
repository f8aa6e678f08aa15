import { Type } from "typebox";
import {
  Body,
  Count,
  FormBody,
  FormLineText,
  FormText,
  Instant,
  LineText,
  Query,
  Text,
  Uuid,
} from "../../http/schema.ts";
import { MEMBER_STATUSES } from "./member-status.ts";

/** The audience fields, as the form sends them (empty: not narrowed by it). */
const AUDIENCE_FIELDS = {
  status: FormText(20),
  tier: FormText(64),
  committee: FormText(40),
  event: FormText(40),
};

/** The announcement form: what to say and to whom. */
export const AnnouncementForm = FormBody({
  subject: FormLineText(200),
  body: FormText(20_000),
  ...AUDIENCE_FIELDS,
});

/** The same fields on the "preview" request (a GET, so previewing writes nothing). */
export const AnnouncementPreviewQuery = Query({
  subject: Type.Optional(Text(200)),
  body: Type.Optional(Text(20_000)),
  ...AUDIENCE_FIELDS,
});

/** The history page after a send. */
export const AnnouncementHistoryQuery = Query({ done: Type.Optional(Type.Literal("sent")) });

/** What a mail client's one-click POST sends (RFC 8058), or the button on the unsubscribe page. */
export const UnsubscribeForm = FormBody({ "List-Unsubscribe": FormText(20) });

/** Who an announcement goes to, in the JSON API: the same narrowing as the form (no status: active
 * members; "any": every status). */
const AudienceIn = Type.Object(
  {
    status: Type.Optional(Type.Unsafe<string>({ type: "string", enum: [...MEMBER_STATUSES, "any"] })),
    tierKey: Type.Optional(LineText(64, { minLength: 1 })),
    committeeId: Type.Optional(Uuid()),
    eventId: Type.Optional(Uuid()),
  },
  { additionalProperties: false },
);

/** POST /api/v1/announcements. */
export const SendAnnouncementBody = Body({
  subject: LineText(200, { minLength: 1 }),
  body: Text(20_000, { minLength: 1, description: "Markdown; raw HTML is shown as text" }),
  audience: Type.Optional(AudienceIn),
});

/** What became of an announcement's messages (from the outbox) and who was skipped when it was sent. */
const AnnouncementCounts = Type.Object({
  total: Type.Integer({ minimum: 0, description: "Outbox messages it wrote" }),
  queued: Type.Integer({ minimum: 0 }),
  held: Type.Integer({ minimum: 0, description: "Kept in the local mailbox: no mail server configured" }),
  sent: Type.Integer({ minimum: 0 }),
  failed: Type.Integer({ minimum: 0 }),
  skippedOptedOut: Type.Integer({ minimum: 0 }),
  skippedUndeliverable: Type.Integer({ minimum: 0 }),
});

/** One announcement in the list. */
const AnnouncementSummaryOut = Type.Object({
  id: Uuid(),
  subject: Type.String(),
  audienceLabel: Type.String(),
  sentBy: Type.String({ description: "Who sent it, as type:id" }),
  createdAt: Instant(),
  counts: AnnouncementCounts,
});

/** GET /api/v1/announcements: the newest first. */
export const AnnouncementListOut = Type.Object({ announcements: Type.Array(AnnouncementSummaryOut) });

/** GET /api/v1/announcements/:id: with its text and audience. */
export const AnnouncementOut = Type.Object({
  announcement: Type.Intersect([
    AnnouncementSummaryOut,
    Type.Object({
      body: Type.String(),
      audience: Type.Object({
        status: Type.Optional(Type.String()),
        tierKey: Type.Optional(Type.String()),
        committeeId: Type.Optional(Uuid()),
        eventId: Type.Optional(Uuid()),
      }),
    }),
  ]),
});

/** The answer to a send. */
export const AnnouncementSentOut = Type.Object({
  id: Uuid(),
  queued: Count(1_000_000),
  skippedOptedOut: Count(1_000_000),
  skippedUndeliverable: Count(1_000_000),
});
