import type { Command } from "commander";
import { runAction } from "../../core/action.ts";
import { operatorActor } from "../../core/actor.ts";
import { retryOutboxMessage } from "../../domains/mail/mail.actions.ts";
import { MAIL_ERRORS } from "../../domains/mail/mail.errors.ts";
import { MailService } from "../../domains/mail/mail.service.ts";
import { mailMessageId } from "../../domains/mail/mail.transport.ts";
import { messageText } from "../../domains/mail/message.presenters.ts";
import { listOutboxMessages, mailQueueStats } from "../../domains/mail/outbox.repository.ts";
import type { CliEnv } from "../cli.ts";
import { CliExit } from "../cli-io.ts";

/** `clubos mail test|retry`: try the mail server, and retry a dead-lettered message by hand. */
export function registerMailVerbs(mail: Command, env: CliEnv): void {
  mail
    .command("test")
    .description("Send a test message through the configured mail server (SMTP_URL) and say what happened")
    .requiredOption("--to <address>", "who receives the test message")
    .action(async (o: { to: string }) => {
      const settings = env.config.mail;
      if (!settings.smtpUrl) {
        throw MAIL_ERRORS.mail_not_configured(
          "No mail server is configured: set SMTP_URL (e.g. smtp://user:pass@mail.example.org:587) and MAIL_FROM. Until then messages are kept in the local mailbox on /admin/outbox, not sent.",
        );
      }
      if (!/^[^\s@<>]+@[^\s@<>]+$/.test(o.to)) {
        env.io.err(`"${o.to}" is not an email address.`);
        throw new CliExit(2);
      }
      const service = new MailService({ ...settings, breakerFailures: 1_000 });
      const server = new URL(settings.smtpUrl);
      env.io.progress(
        `Sending a test message to ${o.to} through ${server.hostname}:${server.port || "default port"}...`,
      );
      const started = Date.now();
      const outcome = await service.delivery.attempt({
        to: o.to,
        subject: `${env.config.clubName}: test message from ClubOS`,
        text: messageText({
          clubName: env.config.clubName,
          name: o.to,
          lines: [
            `This is a test message sent by \`clubos mail test\` at ${new Date().toISOString()}.`,
            "If you can read it, mail from ClubOS reaches this address.",
          ],
        }),
        messageId: mailMessageId(`test-${started}`, settings.from),
      });
      const ms = Date.now() - started;
      service.close();
      switch (outcome.kind) {
        case "accepted":
          env.io.out(`Accepted by the mail server in ${ms} ms: ${outcome.response}`);
          return;
        case "rejected":
          env.io.err(`The mail server refused the message for good: ${outcome.error}`);
          env.io.err("Check the address, and that MAIL_FROM is allowed to send through this server.");
          throw new CliExit(1);
        default:
          env.io.err(`The message was not sent (${ms} ms): ${outcome.error}`);
          env.io.err(
            "Check SMTP_URL (host, port, user, password) and that the server is reachable from here.",
          );
          throw new CliExit(1);
      }
    });
  mail
    .command("status")
    .description("Show the mail queue: waiting, oldest waiting, dead letters (with ids), last error")
    .action(async () => {
      await env.withRuntime(async (ctx) => {
        const stats = await mailQueueStats(ctx.database.db);
        const dead = await listOutboxMessages(ctx.database.db, { status: "dead" }, undefined, 50);
        env.io.out(
          `mail server: ${ctx.config.mail.smtpUrl ? new URL(ctx.config.mail.smtpUrl).host : "none configured (messages are kept in the local mailbox)"}`,
        );
        if (ctx.mail.workerRunning()) env.io.out(`circuit breaker (this server): ${ctx.mail.breaker()}`);
        env.io.out(
          `waiting: ${stats.waiting}${stats.oldestWaitingAt ? `, oldest since ${stats.oldestWaitingAt.toISOString()}` : ""}`,
        );
        env.io.out(`held in the local mailbox: ${stats.held}`);
        env.io.out(`dead letters: ${stats.dead}`);
        for (const m of dead) env.io.out(`  ${m.id}  ${m.recipient ?? "(no recipient)"}  ${m.subject ?? ""}`);
        if (stats.lastError)
          env.io.out(`last error (${stats.lastErrorAt?.toISOString()}): ${stats.lastError}`);
      });
    });
  mail
    .command("retry")
    .description("Put a dead-lettered or held outbox message back in the queue (audited)")
    .argument("<id>", "the outbox message id (shown on /admin/outbox)")
    .requiredOption("--actor <name>", "who runs this (kept in the audit log)")
    .action(async (id: string, o: { actor: string }) => {
      const result = await env.withRuntime((ctx) =>
        runAction(ctx.actionEnv(operatorActor(o.actor)), retryOutboxMessage, { id }),
      );
      env.io.out(
        `Message ${result.id} (was ${result.previousStatus}) is back in the queue${result.unmarked ? "; its address is no longer marked undeliverable" : ""}.`,
      );
    });
}

/** `clubos worker`: the outbox delivery worker alone, until stopped (run it beside servers started with
 * CLUBOS_MAIL_WORKER=0, or as extra workers: claims never overlap). */
export function registerWorkerVerb(command: Command, env: CliEnv): void {
  command.action(async () => {
    if (!env.config.databaseUrl) {
      // The embedded database serves one process: its server delivers the mail itself.
      env.io.err(
        "`clubos worker` needs DATABASE_URL (PostgreSQL). With the embedded database, `clubos serve` delivers mail itself.",
      );
      throw new CliExit(2);
    }
    await env.withRuntime(async (ctx) => {
      await ctx.modes.start();
      const worker = ctx.mail.startWorker(ctx.database.db, {
        paused: () => ctx.modes.current()?.mode !== "normal",
        log: env.io.err,
      });
      env.io.out(
        `Mail worker ${worker.id} running (${ctx.mail.configured ? "sending through SMTP_URL" : "no SMTP_URL: keeping messages in the local mailbox"}). Stop with Ctrl-C.`,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      env.io.out("Stopping the mail worker...");
      await ctx.mail.stopWorker();
    });
  });
}
