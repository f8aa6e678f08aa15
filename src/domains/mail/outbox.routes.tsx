import type { FastifyInstance } from "fastify";
import { notFound } from "../../core/errors.ts";
import { READ } from "../../http/declarations.ts";
import { pageContext, sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { EMPTY_FORM, ID_PARAMS } from "../../http/schema.ts";
import { retryOutboxMessage } from "./mail.actions.ts";
import { OutboxQuery } from "./mail.schemas.ts";
import {
  findOutboxMessage,
  findUndeliverable,
  listOutboxMessages,
  mailQueueStats,
  type OutboxFilter,
} from "./outbox.repository.ts";
import { MailStatusLine, OutboxList, OutboxMessage } from "./outbox.views.tsx";

const PAGE = 100;

/** The outbox for admins: what the club is sending or sent, each message's body and delivery state, the
 * local mailbox (held messages, when no mail server is configured), dead letters and their retry.
 * Messages name members and their email addresses, so it sits behind audit:read like the audit log. */
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
      const ctx = request.server.ctx;
      const stats = await mailQueueStats(db);
      return sendPage(
        request,
        reply,
        "Outbox",
        <OutboxList
          messages={messages}
          filter={filter}
          older={older}
          status={<MailStatusLine mail={ctx.mail} stats={stats} />}
        />,
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
      const db = request.server.ctx.database.db;
      const message = await findOutboxMessage(db, request.params.id);
      if (!message) throw notFound();
      const mark = message.recipient ? await findUndeliverable(db, message.recipient) : undefined;
      return sendPage(
        request,
        reply,
        message.subject || "Outbox message",
        <OutboxMessage message={message} page={pageContext(request)} undeliverable={mark?.reason} />,
      );
    },
  });

  declareRoute(app, {
    method: "POST",
    url: "/admin/outbox/:id/retry",
    action: retryOutboxMessage,
    loadClass: "admin",
    response: "html",
    summary: "Put a dead-lettered or held message back in the queue (audited)",
    schema: { params: ID_PARAMS, body: EMPTY_FORM },
    handler: async (request, reply, action) => {
      const result = await action.run({ id: request.params.id });
      return reply.redirect(`/admin/outbox/${result.id}`, 303);
    },
  });
}
