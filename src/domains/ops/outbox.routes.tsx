import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { notFound } from "../../core/errors.ts";
import { UUID } from "../../core/ids.ts";
import { READ } from "../../http/declarations.ts";
import { sendPage } from "../../http/page.tsx";
import { declareRoute } from "../../http/routes.ts";
import { OutboxList, OutboxMessage } from "./outbox.views.tsx";

const PAGE = 100;
const STATUSES = new Set(["pending", "sent", "failed", "cancelled"]);

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
    handler: async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const filter = {
        topic: q.topic?.trim() || undefined,
        status: q.status && STATUSES.has(q.status) ? q.status : undefined,
      };
      // Keyset paging on (created_at, id): "before" is the id of the last row of the previous page; its
      // time is read back from the row, at full precision.
      const before = q.before && UUID.test(q.before) ? q.before : undefined;
      let query = request.server.ctx.database.db
        .selectFrom("outbox")
        .select(["id", "topic", "recipient", "subject", "status", "created_at"])
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(PAGE);
      if (filter.topic) query = query.where("topic", "=", filter.topic);
      if (filter.status) query = query.where("status", "=", filter.status);
      if (before)
        query = query.where(
          sql`(created_at, id)`,
          "<",
          sql`(SELECT o.created_at, o.id FROM outbox o WHERE o.id = ${before}::uuid)`,
        );
      const messages = await query.execute();
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
    handler: async (request, reply) => {
      const { id } = request.params as { id: string };
      const message = UUID.test(id)
        ? await request.server.ctx.database.db
            .selectFrom("outbox")
            .selectAll()
            .where("id", "=", id)
            .executeTakeFirst()
        : undefined;
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
