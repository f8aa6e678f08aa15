import { createHash } from "node:crypto";
import { sql } from "kysely";
import { type ActionEnv, type ActionSpec, runActionWith } from "./action.ts";
import type { Database } from "./db/connect.ts";
import { CORE_ERRORS } from "./errors.ts";

/** What identifies a request for idempotency (W-3): who sent it, their key, and what they sent. */
export interface IdempotentRequest {
  caller: string;
  key: string;
  method: string;
  path: string;
  body: unknown;
}

/** A response as first sent: its status, content type and the exact bytes of its body. */
export interface StoredResponse {
  status: number;
  contentType: string;
  payload: Buffer;
}

/** A response as first sent, and whether this call replayed it. */
export interface IdempotentResponse extends StoredResponse {
  replayed: boolean;
}

// The column is jsonb, which would reorder an object body's keys and rewrite its numbers: it holds the
// bytes instead, as {contentType, base64}, so a replay is the first response byte for byte.
function toColumn(response: StoredResponse): string {
  return JSON.stringify({ contentType: response.contentType, base64: response.payload.toString("base64") });
}

function fromColumn(status: number, column: unknown): StoredResponse {
  const kept = column as { contentType?: unknown; base64?: unknown } | null;
  if (
    typeof kept?.contentType === "string" &&
    typeof kept.base64 === "string" &&
    Object.keys(kept).length === 2
  )
    return { status, contentType: kept.contentType, payload: Buffer.from(kept.base64, "base64") };
  // Stored by a version that kept the body itself (until 24 hours after upgrading): serialised again.
  return {
    status,
    contentType: "application/json; charset=utf-8",
    payload: Buffer.from(JSON.stringify(column)),
  };
}

/** JSON with object keys sorted, so the same body always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

function requestHash(request: IdempotentRequest): string {
  return createHash("sha256")
    .update(canonicalJson([request.method, request.path, request.body]))
    .digest("hex");
}

/** Validates an Idempotency-Key header value (the IETF httpapi draft: a string, here 1-255 visible characters). */
export function parseIdempotencyKey(header: unknown): string | undefined {
  if (header === undefined) return undefined;
  const value = String(header)
    .trim()
    .replace(/^"(.*)"$/, "$1");
  if (!/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw CORE_ERRORS.invalid_idempotency_key(
      "The Idempotency-Key header must be 1 to 255 visible characters.",
    );
  }
  return value;
}

/** Runs the action once per (caller, key) for 24 hours. A replay with the same request gets the first
 * response (the same bytes) and writes nothing; a different request under the same key gets 422; a replay while the
 * first is still running gets 409. Key, action and response commit in one transaction. */
export function runIdempotent<I, O>(
  env: ActionEnv,
  spec: ActionSpec<I, O>,
  input: I,
  request: IdempotentRequest,
  respond: (result: O) => StoredResponse,
): Promise<IdempotentResponse> {
  const hash = requestHash(request);
  const { caller, key } = request;
  return runActionWith<I, O, IdempotentResponse>(env, spec, input, {
    async before(trx) {
      const lock = await sql<{
        ok: boolean;
      }>`SELECT pg_try_advisory_xact_lock(hashtextextended(${`${caller}\n${key}`}, 7204)) AS ok`.execute(trx);
      if (!lock.rows[0]?.ok) {
        throw CORE_ERRORS.idempotency_in_progress(
          "A request with this Idempotency-Key is still being processed. Wait a moment and retry it unchanged.",
        );
      }
      await trx
        .deleteFrom("idempotency_keys")
        .where("caller", "=", caller)
        .where("key", "=", key)
        .where("expires_at", "<=", sql<Date>`now()`)
        .execute();
      const stored = await trx
        .selectFrom("idempotency_keys")
        .selectAll()
        .where("caller", "=", caller)
        .where("key", "=", key)
        .executeTakeFirst();
      if (!stored) return undefined;
      if (stored.request_hash !== hash) {
        throw CORE_ERRORS.idempotency_key_reused(
          "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
        );
      }
      return { ...fromColumn(stored.response_status, stored.response_body), replayed: true };
    },
    async after(trx, result) {
      const response = respond(result);
      await trx
        .insertInto("idempotency_keys")
        .values({
          caller,
          key,
          request_hash: hash,
          response_status: response.status,
          response_body: toColumn(response),
        })
        .execute();
      return { ...response, replayed: false };
    },
  });
}

const PURGE_BATCH = 1000;

/** Removes keys past their 24 hours, a batch per statement so no transaction grows with the backlog;
 * returns how many. Expiry is the database's clock, as for the lookup in runIdempotent. An aborted
 * signal stops it between batches (the rest go next time). */
export async function purgeExpiredIdempotencyKeys(
  database: Database,
  signal: AbortSignal = new AbortController().signal,
): Promise<number> {
  let removed = 0;
  while (!signal.aborted) {
    const result = await sql`DELETE FROM idempotency_keys WHERE (caller, key) IN (
      SELECT caller, key FROM idempotency_keys WHERE expires_at <= now() LIMIT ${PURGE_BATCH})`.execute(
      database.db,
    );
    const n = Number(result.numAffectedRows ?? 0);
    removed += n;
    if (n < PURGE_BATCH) break;
  }
  return removed;
}
