/**
 * Normalised inbound events: what every platform's webhook parser produces and the one inbound
 * pipeline (services/receive-inbound.ts) consumes. Pure types, shared by channels/ and services/.
 */

/** Who wrote, as the platform names them. */
export interface InboundSender {
  /** The platform's id of the person: Telegram user id, Viber user id, Messenger PSID, E.164 phone. */
  externalUserId: string;
  /**
   * The person's display name; undefined when the platform did not tell us this time (a failed
   * profile look-up): an existing identity keeps its name, a new one is named by its external id.
   */
  displayName?: string | undefined;
  /** A public handle such as a Telegram `@username`. */
  handle?: string | undefined;
  /** E.164 phone number, when the platform gives one. */
  phone?: string | undefined;
}

export interface InboundAttachment {
  type: string;
  url?: string;
  fileId?: string;
  name?: string;
  mimeType?: string;
}

/** A message from the client. Idempotent on (channel, platformMessageId). */
export interface InboundMessageEvent extends InboundSender {
  kind: 'message';
  platformMessageId: string;
  text: string;
  attachments?: InboundAttachment[] | undefined;
  /** When the platform says the client sent it (epoch ms). */
  sentAt: number;
  /** A widget visit token carried by a deep link (Messenger `ref` with a message). */
  deepLinkToken?: string | undefined;
  /** SMS: the receiving number (numbers.id). */
  numberId?: number | undefined;
}

/**
 * The client opened the conversation without writing yet (Telegram `/start`, Viber
 * `conversation_started`, a Messenger referral or Get Started): the dialog opens and takes the
 * visit the deep link carries. Idempotent on (channel, eventId).
 */
export interface InboundStartEvent extends InboundSender {
  kind: 'start';
  eventId: string;
  sentAt: number;
  deepLinkToken?: string | undefined;
}

/** A delivery, read or failure report for one message we sent. Statuses only move forward. */
export interface InboundReceiptEvent {
  kind: 'receipt';
  platformMessageId: string;
  status: 'delivered' | 'read' | 'failed';
  failureReason?: string | undefined;
}

/** Everything we sent this person before `watermark` (epoch ms) was delivered / read (Messenger). */
export interface InboundWatermarkEvent {
  kind: 'watermark';
  externalUserId: string;
  status: 'delivered' | 'read';
  watermark: number;
}

/** The person unsubscribed (Viber) or blocked the bot (Telegram): we can no longer write to them. */
export interface InboundUnreachableEvent {
  kind: 'unreachable';
  externalUserId: string;
  reason: 'unsubscribed' | 'blocked';
  eventId?: string | undefined;
}

/** The person subscribed again or unblocked the bot. */
export interface InboundReachableEvent {
  kind: 'reachable';
  externalUserId: string;
  eventId?: string | undefined;
}

export type InboundEvent =
  | InboundMessageEvent
  | InboundStartEvent
  | InboundReceiptEvent
  | InboundWatermarkEvent
  | InboundUnreachableEvent
  | InboundReachableEvent;

/** The channel the events came in on (the webhook names it). */
