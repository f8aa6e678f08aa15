import type { AuthResult, HttpContext } from "./context.ts";

export type { AuthResult };

declare module "fastify" {
  interface FastifyRequest {
    auth: AuthResult;
  }
  interface FastifyInstance {
    ctx: HttpContext;
  }
}
