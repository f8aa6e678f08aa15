import type { FastifyInstance } from "fastify";
import type { ActionSpec } from "../core/action.ts";
import type { FormRun } from "./route-action.ts";
import { declareRoute, type LoadClass, type RouteRequest, type RouteSchema } from "./routes.ts";

/* An HTML form route is always the same round trip: the guards check who asks, the CSRF token and the
 * action's capability; Ajv checks the form against its schema; the route reads the form into the action's
 * input; the action runs once per rendered form; the browser is sent on with a 303 to a page that says
 * what happened (?done=...). A refusal (a schema complaint, a domain error) is thrown and becomes the
 * HTML error page with its status and message (error-handler.tsx), and the form token stays unused, so
 * the same form, corrected, still goes through. declareFormRoute is that round trip, so a
 * route file states only what differs: its address, action, form and where it leads. */

/** One post of a form: the action's input read from it, and where the browser goes afterwards. */
export interface FormSubmission<I, O> {
  input: NoInfer<I>;
  redirect: (result: NoInfer<O>) => string;
}

/** Everything a form route declares; the method (POST) and the response kind (HTML) are the helper's. */
export interface FormRouteDeclaration<S extends RouteSchema, I, O> {
  url: string;
  /** The action the form runs: it gives the route its capability, policy and degraded behaviour. */
  action: ActionSpec<I, O>;
  loadClass: LoadClass;
  summary: string;
  /** The path parameters and the form body (FormBody / EMPTY_FORM from schema.ts). */
  schema: S;
  /** Reads the validated request into the action's input and the address to go to after it. Form text
   * that needs more than its schema is converted here, and refused by throwing (invalidInput). */
  submit(request: RouteRequest<S>): FormSubmission<I, O> | Promise<FormSubmission<I, O>>;
  /** Once per form (the default), or on each post for an action idempotent by itself (FormRun). */
  repeat?: FormRun["repeat"];
  /** Runs when the action has ended, done or refused: to re-read what it may have changed. */
  afterwards?: (request: RouteRequest<S>) => Promise<unknown>;
}

/** Declares a form route (through declareRoute, so the guards and the route table are the same). */
export function declareFormRoute<S extends RouteSchema, I, O>(
  app: FastifyInstance,
  decl: FormRouteDeclaration<S, I, O>,
): void {
  const { submit, repeat, afterwards, ...declared } = decl;
  declareRoute<S, I, O>(app, {
    ...declared,
    method: "POST",
    response: "html",
    handler: async (request, reply, action) => {
      const { input, redirect } = await submit(request);
      return action.submitForm(reply, input, redirect, {
        repeat,
        afterwards: afterwards && (() => afterwards(request)),
      });
    },
  });
}
