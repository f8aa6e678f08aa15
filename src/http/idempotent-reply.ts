import type { FastifyReply, FastifyRequest } from "fastify";
import type { ActionSpec } from "../core/action.ts";
import { runAction } from "../core/action.ts";
import { actorRef } from "../core/actor.ts";
import { parseIdempotencyKey, runIdempotent } from "../core/idempotency.ts";
import "./request-context.ts";

/** Runs a creating action for a JSON route. With an Idempotency-Key header (W-3) the first response is
 * stored with the action and replayed for the same key; without one the action simply runs. */
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
    respond,
  );
  if (response.replayed) reply.header("Idempotent-Replayed", "true");
  return reply.code(response.status).send(response.body);
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
    (result) => ({ status: 303, body: { location: redirectTo(result) } }),
  );
  return reply.redirect((response.body as { location: string }).location, 303);
}
