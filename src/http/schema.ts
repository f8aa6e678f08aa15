import { type TProperties, Type } from "typebox";

/* The building blocks of route schemas. One schema per input and output gives Ajv validation, the
 * handler's TypeScript type (TypeBox with Fastify's type provider) and the OpenAPI entry. Every text
 * field is a Text: PostgreSQL cannot store NUL or a lone surrogate, so both are invalid input at the
 * edge (Ajv compiles patterns with the u flag, where a lone surrogate is its own code point). */

/** The pattern of text PostgreSQL can store. */
export const STORABLE = "^[^\\u0000\\uD800-\\uDFFF]*$";

/** The pattern of text that stays on one line: storable, and without line breaks or other control
 * characters (CR, LF, tab, U+2028/9), which could end a mail header or a log line early. Every field
 * that is one line by nature (a title, a name, an address to write to) is a LineText. */
export const ONE_LINE = "^[^\\u0000-\\u001F\\u007F\\u2028\\u2029\\uD800-\\uDFFF]*$";
const ONE_LINE_RE = new RegExp(ONE_LINE, "u");

/** True when the text is on one line (ONE_LINE): for rules applied beside the schema, in actions. */
export const isOneLine = (text: string) => ONE_LINE_RE.test(text);

/** A one-line text field (ONE_LINE), with a length limit always. */
export const LineText = (maxLength: number, options: { minLength?: number; description?: string } = {}) =>
  Type.String({ pattern: ONE_LINE, maxLength, ...options });

/** A one-line form field that may be left out. */
export const FormLineText = (maxLength: number) => Type.Optional(LineText(maxLength));

/** A text field: storable, with a length limit always. */
export const Text = (maxLength: number, options: { minLength?: number; description?: string } = {}) =>
  Type.String({ pattern: STORABLE, maxLength, ...options });

/** A uuid (a malformed one is refused before any query). */
export const Uuid = (options: { description?: string } = {}) => Type.String({ format: "uuid", ...options });

/** An instant, ISO 8601 with its offset. */
export const Instant = (options: { description?: string } = {}) =>
  Type.String({ format: "date-time", ...options });

/** A calendar date, 2026-01-31. */
export const CalendarDate = (options: { description?: string } = {}) =>
  Type.String({ format: "date", ...options });

/** A row version (W-4), within PostgreSQL's integer. */
export const Version = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });

/** A count or capacity: a whole number from 0 to the given limit. */
export const Count = (maximum: number) => Type.Integer({ minimum: 0, maximum });

/** Path parameters of routes addressed by one uuid `:id`. */
export const ID_PARAMS = Type.Object({ id: Uuid() });

/** A query string with no parameters: unknown ones are dropped (removeAdditional), never read. */
export const EMPTY_QUERY = Type.Object({}, { additionalProperties: false });

/** A query string with these parameters only; each may appear once (a repeated one is refused). */
export const Query = <P extends TProperties>(properties: P) =>
  Type.Object(properties, { additionalProperties: false });

/** A JSON body that carries nothing: absent, null or {}. */
export const EMPTY_BODY = Type.Union([Type.Null(), Type.Object({}, { additionalProperties: false })]);

/** A JSON body with exactly these fields. */
export const Body = <P extends TProperties>(properties: P, options: { minProperties?: number } = {}) =>
  Type.Object(properties, { additionalProperties: false, ...options });

/** The hidden fields every ClubOS form carries: the CSRF token and the one-time form token. */
const FORM_TOKENS = {
  _csrf: Type.Optional(Text(128)),
  _form: Type.Optional(Text(64)),
};

/** An HTML form body: these text fields and the hidden tokens; unknown fields are dropped. Values arrive
 * as text, so numbers and flags are Text too and are read by the route's form reader. */
export const FormBody = <P extends TProperties>(properties: P) =>
  Type.Object({ ...properties, ...FORM_TOKENS }, { additionalProperties: false });

/** A form field that may be left out. */
export const FormText = (maxLength: number) => Type.Optional(Text(maxLength));

/** The one error shape of every JSON response that is not a success. */
export const ERROR = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: "A stable code from the error catalogue" }),
      message: Type.String({ description: "What happened and what to do, for a person" }),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  },
  { $id: undefined, description: "Errors are {error: {code, message, details?}} with a stable code" },
);

/** Error responses every JSON route declares (declareRoute adds them). */
export const ERROR_RESPONSES = { "4xx": ERROR, "5xx": ERROR };

/** An If-Match header: the ETag read, "v3" (bounded, so a 5,000-digit value is refused, not parsed). */
export const IF_MATCH = Type.Optional(Type.String({ maxLength: 40, pattern: '^(W/)?"?v?[0-9]{1,10}"?$' }));

/** An Idempotency-Key header (W-3). */
export const IDEMPOTENCY_KEY = Type.Optional(
  Type.String({ minLength: 1, maxLength: 255, pattern: STORABLE }),
);

/** A form that carries only its hidden tokens (a button). */
export const EMPTY_FORM = FormBody({});

/** A text field that may also be null (one JSON Schema type list, as API clients expect). */
export const NullableText = (maxLength: number, options: { description?: string } = {}) =>
  Type.Unsafe<string | null>({ type: ["string", "null"], pattern: STORABLE, maxLength, ...options });
