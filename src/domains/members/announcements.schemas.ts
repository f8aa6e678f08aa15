import { Type } from "typebox";
import { FormBody, FormLineText, FormText, Query, Text } from "../../http/schema.ts";

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
