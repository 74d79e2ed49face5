/**
 * The outbound port: how the outbox worker (services/outbox-worker.ts) hands one queued message to
 * a platform. Each platform implements `ChannelSender`; the worker owns ordering, retries, backoff
 * and statuses, the sender only speaks the platform's protocol and classifies its answer.
 */

import { PlatformError } from '../core/errors.js';

/** Whom to write to, and from where. */
export interface OutboundTarget {
  projectId: number;
  channelId: number;
  /** The platform's id of the person: Telegram chat id, Viber user id, Messenger PSID, E.164 phone. */
  externalUserId: string;
  /** SMS: the sending number in E.164 (numbers.e164), when the dialog has one. */
  fromNumber?: string | null | undefined;
  /** SMS: the number is outbound-only; the originator is the alphanumeric "SMS" (TON 5). */
  outboundOnly?: boolean | undefined;
  /** Messenger: when the person last wrote to us (epoch ms), for the 24-hour window. */
  lastInboundAt?: number | null | undefined;
}

export interface OutboundText {
  /** messages.id: also the idempotency reference where a platform accepts one. */
  messageId: number;
  text: string;
}

export interface SendResult {
  /**
   * The platform's id of what was sent (Telegram message_id, Viber message_token, Messenger mid,
   * SMPP message_id of the first part): receipts find the message by it.
   */
  platformMessageId: string | null;
  /** SMS sent in several parts: every part's id, in order (receipts arrive per part). */
  partIds?: string[] | undefined;
}

export type SendFailureKind =
  /** Try again later (network, 5xx, 429, throttling): the worker backs off, honouring retryAfterMs. */
  | 'transient'
  /** Will never work as it is (blocked, unsubscribed, window closed, invalid number): fail the message. */
  | 'permanent';

/** What a sender throws; anything else it throws counts as transient. */
export class SendError extends Error {
  readonly kind: SendFailureKind;
  /** A short reason for the manager, e.g. "blocked", "unsubscribed", "outside_window", "invalid_number". */
  readonly reason: string;
  readonly retryAfterMs: number | undefined;
  /** The person can no longer be written to on this channel: the identity is marked unreachable. */
  readonly unreachable: 'blocked' | 'unsubscribed' | undefined;

  constructor(opts: {
    kind: SendFailureKind;
    reason: string;
    message?: string;
    retryAfterMs?: number | undefined;
    unreachable?: 'blocked' | 'unsubscribed' | undefined;
  }) {
    super(opts.message ?? opts.reason);
    this.name = 'SendError';
    this.kind = opts.kind;
    this.reason = opts.reason;
    this.retryAfterMs = opts.retryAfterMs;
    this.unreachable = opts.unreachable;
  }
}

export interface ChannelSender {
  send(target: OutboundTarget, message: OutboundText): Promise<SendResult>;
  /** Releases connections (SMPP sessions); optional. */
  close?(): Promise<void>;
}

/**
 * A platform's refusal as a SendError: transient when the platform was not reached, overloaded or
 * rate-limiting (PlatformError.transient, with its retry_after), permanent otherwise with the
 * platform's own description. `classify` names the permanent cases a platform documents.
 */
export function sendErrorFrom(
  e: unknown,
  classify: (err: PlatformError) => Pick<SendError, 'reason' | 'unreachable'> | undefined = () => undefined,
): SendError {
  if (e instanceof SendError) return e;
  if (!(e instanceof PlatformError)) {
    return new SendError({ kind: 'transient', reason: 'error', message: e instanceof Error ? e.message : String(e) });
  }
  if (e.transient) {
    return new SendError({
      kind: 'transient',
      reason:
        e.status === 0
          ? 'unreachable'
          : e.status === 429 || e.retryAfter !== undefined
            ? 'rate_limited'
            : 'platform_error',
      message: e.description,
      retryAfterMs: e.retryAfter !== undefined ? e.retryAfter * 1000 : undefined,
    });
  }
  const known = classify(e);
  return new SendError({
    kind: 'permanent',
    reason: known?.reason ?? 'rejected',
    message: e.description,
    unreachable: known?.unreachable,
  });
}
