import type { FastifyInstance } from "fastify";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { ID_PARAMS } from "../../http/schema.ts";
import { OutboxQuery } from "./ops.schemas.ts";
import { findOutboxMessage, listOutboxMessages, type OutboxFilter } from "./outbox.repository.ts";
import { OutboxList, OutboxMessage } from "./outbox.views.tsx";

const PAGE = 100;

/** The outbox for admins, read-only: what the club is sending or sent, and each message's body. Messages
 * name members and their email addresses, so it sits behind audit:read like the audit log. */
export function outboxRoutes(app: FastifyInstance): void {
  declareRoute(app, {
    method: "GET",
    url: "/admin/outbox",
    capability: "audit:read",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "The latest outbox messages (topic, recipient, subject, status), newest first",
    schema: { querystring: OutboxQuery },
    handler: async (request, reply) => {
      const { topic, status, before } = request.query;
      const filter: OutboxFilter = { topic: topic?.trim() || undefined, status: status || undefined };
      const db = request.server.ctx.database.db;
      const messages = await listOutboxMessages(db, filter, before || undefined, PAGE);
      const last = messages.at(-1);
      const older =
        messages.length === PAGE && last
          ? `/admin/outbox?${new URLSearchParams({
              ...Object.fromEntries(Object.entries(filter).filter(([, v]) => v) as [string, string][]),
              before: last.id,
            })}`
          : undefined;
      return sendPage(
        request,
        reply,
        "Outbox",
        <OutboxList messages={messages} filter={filter} older={older} />,
      );
    },
  });

  declareRoute(app, {
    method: "GET",
    url: "/admin/outbox/:id",
    capability: "audit:read",
    loadClass: "admin",
    response: "html",
    degraded: READ,
    summary: "One outbox message with its rendered body",
    schema: { params: ID_PARAMS },
    handler: async (request, reply) => {
      const message = await findOutboxMessage(request.server.ctx.database.db, request.params.id);
      if (!message) throw notFound();
      return sendPage(
        request,
        reply,
        message.subject || "Outbox message",
        <OutboxMessage message={message} />,
      );
    },
  });
}
