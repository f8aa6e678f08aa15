import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import type { MailSettings } from "../../src/domains/mail/mail.service.ts";

/** How the test SMTP server answers the next messages. */
export type SmtpBehaviour = "accept" | "reject" | "fail" | "hang";

/** One message the server accepted. */
export interface Received {
  to: string[];
  messageId: string | undefined;
  subject: string | undefined;
  raw: string;
}

/** A real SMTP server (smtp-server) on a free loopback port, whose answer the test sets:
 * accept (250), reject (550: permanent), fail (451: try again later), hang (never answers DATA). */
export interface TestSmtp {
  url: string;
  port: number;
  received: Received[];
  /** DATA commands seen, accepted or not. */
  attempts: number;
  behaviour: SmtpBehaviour;
  /** Messages whose Message-ID was accepted more than once. */
  duplicates(): string[];
  close(): Promise<void>;
}

const header = (raw: string, name: string) =>
  new RegExp(`^${name}:\\s*(.*)$`, "im").exec(raw.split(/\r?\n\r?\n/)[0] ?? "")?.[1]?.trim();

/** Starts the server; close() stops it and ends any hung connection. */
export async function startTestSmtp(behaviour: SmtpBehaviour = "accept"): Promise<TestSmtp> {
  const hung: (() => void)[] = [];
  const state: TestSmtp = {
    url: "",
    port: 0,
    received: [],
    attempts: 0,
    behaviour,
    duplicates() {
      const seen = new Map<string, number>();
      for (const r of state.received) seen.set(r.messageId ?? "", (seen.get(r.messageId ?? "") ?? 0) + 1);
      return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    },
    close: async () => {},
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    closeTimeout: 100,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        state.attempts++;
        const now = state.behaviour;
        if (now === "hang") {
          hung.push(() => callback(new Error("closing")));
          return;
        }
        if (now === "reject") {
          const error = Object.assign(new Error("5.1.1 Mailbox does not exist"), { responseCode: 550 });
          return callback(error);
        }
        if (now === "fail") {
          const error = Object.assign(new Error("4.3.0 Try again later"), { responseCode: 451 });
          return callback(error);
        }
        const raw = Buffer.concat(chunks).toString("utf8");
        state.received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          messageId: header(raw, "Message-ID"),
          subject: header(raw, "Subject"),
          raw,
        });
        callback(null);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  state.port = port;
  state.url = `smtp://127.0.0.1:${port}`;
  state.close = async () => {
    for (const end of hung.splice(0)) end();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}

/** Mail settings for a test's MailService against a test SMTP server: quick retries, a breaker that does
 * not open by accident, a long lease; a test changes what it is about. */
export function testMailSettings(smtp: TestSmtp | undefined, over: Partial<MailSettings> = {}): MailSettings {
  return {
    smtpUrl: smtp?.url,
    from: "Club <club@mail.test>",
    timeoutMs: 5_000,
    maxAttempts: 5,
    retryBaseMs: 30,
    breakerFailures: 100,
    breakerResetMs: 60_000,
    leaseMs: 60_000,
    pollMs: 20,
    ...over,
  };
}
