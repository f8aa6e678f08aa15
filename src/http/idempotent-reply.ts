import type { FastifyReply, FastifyRequest } from "fastify";
import type { ActionSpec } from "../core/action.ts";
import { runAction } from "../core/action.ts";
import { actorRef } from "../core/actor.ts";
import { parseIdempotencyKey, runIdempotent, type StoredResponse } from "../core/idempotency.ts";
import "./request-context.ts";

const JSON_TYPE = "application/json; charset=utf-8";

/** The bytes Fastify would send for body with this status (the route's response schema, if any). */
function serialized(reply: FastifyReply, status: number, body: unknown): StoredResponse {
  const bytes = reply.code(status).serialize(body);
  const payload =
    typeof bytes === "string"
      ? Buffer.from(bytes, "utf8")
      : Buffer.isBuffer(bytes)
        ? bytes
        : Buffer.from(bytes);
  return { status, contentType: JSON_TYPE, payload };
}

function send(reply: FastifyReply, response: StoredResponse): FastifyReply {
  return reply.code(response.status).type(response.contentType).send(response.payload);
}

/** Runs a creating action for a JSON route. With an Idempotency-Key header (W-3) the first response's
 * bytes are stored with the action and sent again for the same key; without one the action simply runs. */
export async function idempotentJson<I, O>(
  request: FastifyRequest,
  reply: FastifyReply,
  spec: ActionSpec<I, O>,
  input: I,
  respond: (result: O) => { status: number; body: unknown },
): Promise<FastifyReply> {
  const env = request.server.ctx.actionEnv(request.auth.actor, request.id);
  const key = parseIdempotencyKey(request.headers["idempotency-key"]);
  if (!key) {
    const response = respond(await runAction(env, spec, input));
    return reply.code(response.status).send(response.body);
  }
  const response = await runIdempotent(
    env,
    spec,
    input,
    {
      caller: actorRef(request.auth.actor),
      key,
      method: request.method,
      path: request.url,
      body: request.body ?? null,
    },
    (result) => {
      const { status, body } = respond(result);
      return serialized(reply, status, body);
    },
  );
  if (response.replayed) reply.header("Idempotent-Replayed", "true");
  return send(reply, response);
}

/** Runs a form's action once per one-time form token: a double click or a browser retry replays the
 * first outcome (a redirect) instead of doing the work twice. */
export async function oncePerFormToken<I, O>(
  request: FastifyRequest,
  reply: FastifyReply,
  spec: ActionSpec<I, O>,
  input: I,
  redirectTo: (result: O) => string,
): Promise<FastifyReply> {
  const body = (request.body ?? {}) as Record<string, unknown>;
  const token = parseIdempotencyKey(body._form ?? undefined);
  const env = request.server.ctx.actionEnv(request.auth.actor, request.id);
  if (!token) return reply.redirect(redirectTo(await runAction(env, spec, input)), 303);
  const { _csrf, _form, ...fields } = body;
  const response = await runIdempotent(
    env,
    spec,
    input,
    {
      caller: actorRef(request.auth.actor),
      key: `form:${token}`,
      method: request.method,
      path: request.url,
      body: fields,
    },
    (result) => ({
      status: 303,
      contentType: JSON_TYPE,
      payload: Buffer.from(JSON.stringify({ location: redirectTo(result) })),
    }),
  );
  const { location } = JSON.parse(response.payload.toString("utf8")) as { location: string };
  return reply.redirect(location, 303);
}
