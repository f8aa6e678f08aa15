import { Type } from "typebox";
import {
  Body,
  FormBody,
  FormText,
  Instant,
  NullableText,
  Query,
  Text,
  Uuid,
  Version,
} from "../../http/schema.ts";

/* The committees API contract: every input and output of the committees routes, defined once. */

const Role = Type.Union([Type.Literal("chair"), Type.Literal("member")]);
const NullableInstant = Type.Union([Instant(), Type.Null()]);

/** Path parameters of a committee's term. */
export const TERM_PARAMS = Type.Object({ id: Uuid(), termId: Uuid() });

/** POST /api/v1/committees. */
export const CreateCommitteeBody = Body({
  name: Text(200, { minLength: 1 }),
  reason: Type.Optional(Text(1000)),
});

/** POST /api/v1/committees/:id/appointments. */
export const AppointBody = Body({
  memberId: Type.Optional(Uuid()),
  memberEmail: Type.Optional(Text(320)),
  role: Role,
  startsAt: Type.Optional(
    NullableText(40, { description: "An ISO date and time, or a club calendar day (2026-01-31)" }),
  ),
  endsAt: Type.Optional(
    NullableText(40, { description: "An ISO date and time, or the last club calendar day served" }),
  ),
  reason: Type.Optional(Text(1000)),
});

/** POST /api/v1/committees/:id/terms/:termId/end. */
export const EndTermBody = Body({ reason: Text(1000, { minLength: 1 }) });

/** The create form. */
export const CommitteeForm = FormBody({ name: FormText(200) });

/** The appoint form: the member's email, the role, and the term as club calendar days. */
export const AppointForm = FormBody({
  email: FormText(320),
  role: FormText(10),
  starts_on: FormText(10),
  ends_on: FormText(10),
  reason: FormText(1000),
});

/** The end-term form. */
export const EndTermForm = FormBody({ reason: FormText(1000) });

/** The notice a committee page shows after a change. */
export const CommitteeDoneQuery = Query({
  done: Type.Optional(
    Type.Union([Type.Literal("created"), Type.Literal("appointed"), Type.Literal("ended")]),
  ),
});

/** A committee. */
export const CommitteeOut = Type.Object({
  id: Uuid(),
  name: Type.String(),
  createdAt: Instant(),
  updatedAt: Instant(),
});

/** The committees, with how many serve on each now. */
export const CommitteeListOut = Type.Object({
  committees: Type.Array(
    Type.Object({ id: Uuid(), name: Type.String(), createdAt: Instant(), currentMembers: Type.Integer() }),
  ),
});

/** A term as an appointment or ending a term answers it. */
export const TermOut = Type.Object({
  id: Uuid(),
  committeeId: Uuid(),
  memberId: Uuid(),
  role: Role,
  startsAt: Instant(),
  endsAt: NullableInstant,
  grantedBy: Type.String({ description: "Who appointed, as type:id" }),
  endedBy: Type.Union([Type.String(), Type.Null()]),
  version: Version,
});

/** A committee and every term on it: current first, then upcoming, then ended. */
export const CommitteeDetailOut = Type.Object({
  committee: CommitteeOut,
  terms: Type.Array(
    Type.Object({
      id: Uuid(),
      memberId: Uuid(),
      memberName: Type.String(),
      memberEmail: Type.String(),
      role: Role,
      state: Type.Union([Type.Literal("current"), Type.Literal("upcoming"), Type.Literal("ended")]),
      startsAt: Instant(),
      endsAt: NullableInstant,
      grantedBy: Type.String(),
      endedBy: Type.Union([Type.String(), Type.Null()]),
      version: Version,
    }),
  ),
});
