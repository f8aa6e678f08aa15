import nodemailer from "nodemailer";

/** One message as it goes to the mail server. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  /** Stable per outbox row (mailMessageId), so a resend after a crash is recognisable as the same. */
  messageId: string;
  /** Headers of this message alone (an announcement's List-Unsubscribe), stored with its outbox row;
   * only the names in MESSAGE_HEADERS are sent, each value on one line. */
  headers?: Record<string, string>;
  /** An HTML alternative to the text (an announcement's rendered Markdown); the text part always goes. */
  html?: string;
}

/** The per-message headers a stored message may carry: anything else in a payload is never sent, so a
 * row cannot add a Bcc or a From of its own. */
export const MESSAGE_HEADERS = ["List-Unsubscribe", "List-Unsubscribe-Post"] as const;

/** A message's own headers as they may be sent: the allowed names only, each value on one line. */
export function messageHeaders(headers: Record<string, unknown> | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of MESSAGE_HEADERS) {
    const value = headers?.[name];
    if (typeof value === "string" && headerValue(value) !== "") out[name] = headerValue(value);
  }
  return out;
}

// Line breaks and other control characters: in a header value they would end the header and start
// another (a "Bcc:" typed into an event title).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001F\u007F\u2028\u2029]+/g;

/** A header value as it may be sent: on one line, whatever was typed (control characters become a
 * space). Applied here, where every message leaves, whatever the schemas let in before. */
export function headerValue(text: string): string {
  return text.replace(CONTROL, " ").trim();
}

/** What the server said when it accepted a message. */
export interface Accepted {
  response: string;
}

/** A send the server refused for good (SMTP 5xx): retrying will not help; the address is marked. */
export class PermanentRejection extends Error {
  constructor(
    message: string,
    readonly responseCode: number,
  ) {
    super(message);
  }
}

/** Sends one message; resolves only once the server has accepted it (its 250 after DATA). close() ends
 * its pooled connections. */
export type MailTransport = ((mail: OutgoingMail, signal: AbortSignal) => Promise<Accepted>) & {
  close?: () => void;
};

/** The stable Message-ID of an outbox message: its id at the sender's domain. */
export function mailMessageId(outboxId: string, from: string): string {
  const domain = /@([^>\s]+)/.exec(from)?.[1] ?? "clubos.invalid";
  return `<${outboxId}@${domain}>`;
}

/** An SMTP transport from SMTP_URL (nodemailer), with a small pool of reused connections (one per
 * worker lane); each socket phase gives up after timeoutMs, like the attempt, so a hung connection is
 * closed and replaced rather than kept. */
export function smtpTransport(smtpUrl: string, from: string, timeoutMs: number): MailTransport {
  const url = new URL(smtpUrl);
  const flag = (name: string) => url.searchParams.get(name) === "true";
  const connect = () =>
    nodemailer.createTransport({
      pool: true,
      maxConnections: 4,
      maxMessages: 100,
      host: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      secure: url.protocol === "smtps:",
      auth: url.username
        ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
        : undefined,
      // ?requireTLS=true refuses a server that does not offer STARTTLS; ?ignoreTLS=true never upgrades.
      requireTLS: flag("requireTLS"),
      ignoreTLS: flag("ignoreTLS"),
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      disableFileAccess: true,
      disableUrlAccess: true,
    });
  // A closed nodemailer pool refuses every later message ("Connection pool was closed"), so close()
  // swaps in a fresh pool: a worker stopped and started again (or `clubos mail test` after it) sends.
  let transporter = connect();
  const send: MailTransport = async (mail, signal) => {
    if (signal.aborted) throw new Error("The attempt was cancelled before it started.");
    try {
      // A recipient that is not one line is not an address: refused for good, never sent.
      if (headerValue(mail.to) !== mail.to.trim())
        throw new PermanentRejection("The recipient address has a line break in it.", 553);
      // Header values are flattened to one line, then encoded by nodemailer.
      const info = await transporter.sendMail({
        from,
        to: mail.to.trim(),
        subject: headerValue(mail.subject),
        text: mail.text,
        ...(mail.html ? { html: mail.html } : {}),
        headers: messageHeaders(mail.headers),
        messageId: mail.messageId,
      });
      if (info.rejected.length > 0 || info.accepted.length === 0) {
        throw new PermanentRejection(`The server refused the recipient: ${info.response}`, 550);
      }
      return { response: info.response };
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      if (error instanceof PermanentRejection) throw error;
      if (code && code >= 500 && code < 600) {
        throw new PermanentRejection((error as Error).message, code);
      }
      throw error;
    }
  };
  send.close = () => {
    transporter.close();
    transporter = connect();
  };
  return send;
}
