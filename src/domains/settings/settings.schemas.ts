import { Type } from "typebox";
import { FormBody, Query } from "../../http/schema.ts";

/** The join-form switch on the settings page. */
export const JoinFormSwitch = FormBody({
  open: Type.Union([Type.Literal("on"), Type.Literal("off")]),
});

/** GET /admin/settings?done=... after a change. */
export const SettingsQuery = Query({
  done: Type.Optional(
    Type.Union([
      Type.Literal("join_form_opened"),
      Type.Literal("join_form_closed"),
      Type.Literal("tier_changed"),
    ]),
  ),
});
