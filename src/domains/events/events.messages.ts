import { randomUUID } from "node:crypto";
import type { OutboxDraft } from "../../core/action.ts";
import { dateTimeFormat } from "../../core/time-format.ts";
import { clubMessage } from "../mail/message.presenters.ts";

/** What a registration message needs to say. */
export interface MessageContext {
  memberName: string;
  memberEmail: string;
  eventTitle: string;
  startsAt: Date;
  location: string;
  timeZone: string;
  /** The club's name, signed under the message (the action's scope.clubName). */
  clubName: string;
}

function when(ctx: MessageContext): string {
  return dateTimeFormat("en-GB", { dateStyle: "full", timeStyle: "short", timeZone: ctx.timeZone }).format(
    ctx.startsAt,
  );
}

function email(
  topic: string,
  ctx: MessageContext,
  subject: string,
  lines: string[],
  payload: Record<string, unknown>,
): OutboxDraft {
  return clubMessage({
    topic,
    recipient: ctx.memberEmail,
    clubName: ctx.clubName,
    name: ctx.memberName,
    subject,
    lines: [...lines, "", `${ctx.eventTitle}: ${when(ctx)}${ctx.location ? `, ${ctx.location}` : ""}.`],
    payload,
  });
}

/** "You have a seat." */
export const confirmationEmail = (ctx: MessageContext, payload: Record<string, unknown>) =>
  email(
    "registration.confirmed",
    ctx,
    `You are registered: ${ctx.eventTitle}`,
    ["Your place is confirmed."],
    payload,
  );

/** "You are on the waitlist at position N." */
const waitlistEmail = (ctx: MessageContext, position: number | string, payload: Record<string, unknown>) =>
  email(
    "registration.waitlisted",
    ctx,
    `Waitlist: ${ctx.eventTitle}`,
    [
      `The event is full, so you are on the waitlist at position ${position}.`,
      "We will write to you if a place becomes free.",
    ],
    payload,
  );

/** The waitlist message before the position is known, as the text before and after the number, for
 * SQL that learns the position under the event lock (clubos_register). The split marker is random, so
 * no name or title can contain it. */
export function waitlistEmailAroundPosition(ctx: MessageContext, payload: Record<string, unknown>) {
  const marker = randomUUID();
  const { body, ...rest } = waitlistEmail(ctx, marker, payload);
  const [bodyBefore, bodyAfter] = body!.split(marker) as [string, string];
  return { ...rest, bodyBefore, bodyAfter };
}

/** "A place became free and it is yours." */
export const promotionEmail = (ctx: MessageContext, payload: Record<string, unknown>) =>
  email(
    "registration.promoted",
    ctx,
    `A place is yours: ${ctx.eventTitle}`,
    ["A place became free and you now have a confirmed seat."],
    payload,
  );

/** "Your registration is cancelled." */
export const cancellationEmail = (ctx: MessageContext, payload: Record<string, unknown>) =>
  email(
    "registration.cancelled",
    ctx,
    `Cancelled: ${ctx.eventTitle}`,
    ["Your registration is cancelled."],
    payload,
  );

/** "The event is cancelled, and so is your registration." */
export const eventCancelledEmail = (
  ctx: MessageContext,
  reason: string | null,
  payload: Record<string, unknown>,
) =>
  email(
    "event.cancelled",
    ctx,
    `Event cancelled: ${ctx.eventTitle}`,
    [
      "This event has been cancelled, so your registration is cancelled too.",
      ...(reason ? [`Reason: ${reason}`] : []),
    ],
    payload,
  );
