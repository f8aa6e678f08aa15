import type { FastifyReply, FastifyRequest } from "fastify";
import { type ActionSpec, runAction } from "../core/action.ts";
import { idempotentJson, oncePerFormToken } from "./idempotent-reply.ts";
import "./request-context.ts";

/** How a form post runs its action (declareFormRoute). */
export interface FormRun {
  /** "once-per-form" (the default): once per one-time form token, so a double click or a browser retry
   * replays the first redirect. "each-post": for an action that is idempotent by itself (a check-in,
   * with its `unchanged`), run on every post. */
  repeat?: "once-per-form" | "each-post";
  /** Runs when the action has ended, done or refused (to re-read what it may have changed). */
  afterwards?: () => Promise<unknown>;
}

/** The action a route declared, bound to the request's actor: the only way a handler runs it, so the
 * access and degraded behaviour the route table shows are those of what it does. */
export interface RouteAction<I, O> {
  /** Runs the action and returns its result. */
  run(input: I): Promise<O>;
  /** A form post: runs once per one-time form token and redirects (a double click replays the redirect). */
  oncePerForm(reply: FastifyReply, input: I, redirectTo: (result: O) => string): Promise<FastifyReply>;
  /** A form post as FormRun says: runs the action, then redirects (303) to redirectTo(result). */
  submitForm(
    reply: FastifyReply,
    input: I,
    redirectTo: (result: O) => string,
    how?: FormRun,
  ): Promise<FastifyReply>;
  /** A JSON call: runs once per Idempotency-Key when one is sent (W-3) and answers with respond(result). */
  idempotentJson(
    reply: FastifyReply,
    input: I,
    respond: (result: O) => { status: number; body: unknown },
  ): Promise<FastifyReply>;
}

const NO_ACTION: RouteAction<never, never> = {
  run: () => Promise.reject(new Error("This route declares no action.")),
  oncePerForm: () => Promise.reject(new Error("This route declares no action.")),
  submitForm: () => Promise.reject(new Error("This route declares no action.")),
  idempotentJson: () => Promise.reject(new Error("This route declares no action.")),
};

/** The route's action bound to this request. */
export function routeAction<I, O>(
  request: FastifyRequest,
  spec: ActionSpec<I, O> | undefined,
): RouteAction<I, O> {
  if (!spec) return NO_ACTION as unknown as RouteAction<I, O>;
  const run = (input: I) =>
    runAction(request.server.ctx.actionEnv(request.auth.actor, request.id), spec, input);
  const oncePerForm = (reply: FastifyReply, input: I, redirectTo: (result: O) => string) =>
    oncePerFormToken(request, reply, spec, input, redirectTo);
  return {
    run,
    oncePerForm,
    submitForm: async (reply, input, redirectTo, how = {}) => {
      try {
        if (how.repeat === "each-post") return reply.redirect(redirectTo(await run(input)), 303);
        return await oncePerForm(reply, input, redirectTo);
      } finally {
        await how.afterwards?.();
      }
    },
    idempotentJson: (reply, input, respond) => idempotentJson(request, reply, spec, input, respond),
  };
}
