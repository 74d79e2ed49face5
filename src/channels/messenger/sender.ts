/**
 * Replies through the Send API (https://developers.facebook.com/docs/messenger-platform/reference/send-api/).
 * Within 24 hours of the person's last message: messaging_type RESPONSE; later, up to 7 days, the
 * HUMAN_AGENT tag (https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags);
 * later still nothing may be sent, so the message fails without a call. Send API errors
 * (https://developers.facebook.com/docs/messenger-platform/reference/send-api/error-codes):
 * 10 / 2018278 outside the allowed window, 551 / 1545041 the person isn't available (blocked the
 * page), 100 / 2018001 no matching user: permanent. Rate limits (4, 17, 32, 613) and 1 / 2 retry.
 */
import type { PlatformError } from '../../core/errors.js';
import {
  type ChannelSender,
  type OutboundTarget,
  type OutboundText,
  SendError,
  type SendResult,
  sendErrorFrom,
} from '../outbound.js';
import { GraphApi, type GraphApiOptions, MESSENGER_HUMAN_AGENT_MS, MESSENGER_WINDOW_MS } from './api.js';

export class MessengerSender implements ChannelSender {
  readonly #api: GraphApi;
  readonly #pageId: string;
  readonly #clock: () => number;

  constructor(opts: GraphApiOptions & { pageId: string; clock: () => number }) {
    this.#api = new GraphApi(opts);
    this.#pageId = opts.pageId;
    this.#clock = opts.clock;
  }

  async send(target: OutboundTarget, message: OutboundText): Promise<SendResult> {
    const tag = messengerTag(target.lastInboundAt, this.#clock());
    if (tag === 'closed') {
      throw new SendError({
        kind: 'permanent',
        reason: 'outside_window',
        message: 'More than 7 days since the person last wrote: Messenger allows no reply until they write again',
      });
    }
    try {
      const sent = await this.#api.sendText(this.#pageId, { psid: target.externalUserId, text: message.text, tag });
      return { platformMessageId: sent.message_id };
    } catch (e) {
      throw sendErrorFrom(e, classify);
    }
  }
}

/**
 * How a reply may go out now: undefined (inside the 24-hour window), the HUMAN_AGENT tag (up to
 * 7 days), or 'closed'. No inbound message at all counts as closed: a page may not write first.
 */
export function messengerTag(
  lastInboundAt: number | null | undefined,
  now: number,
): 'HUMAN_AGENT' | 'closed' | undefined {
  if (lastInboundAt === null || lastInboundAt === undefined) return 'closed';
  const age = now - lastInboundAt;
  if (age <= MESSENGER_WINDOW_MS) return undefined;
  if (age <= MESSENGER_HUMAN_AGENT_MS) return 'HUMAN_AGENT';
  return 'closed';
}

function classify(e: PlatformError) {
  if (e.code === 10 || e.subcode === 2018278) return { reason: 'outside_window', unreachable: undefined };
  if (e.code === 551 || e.subcode === 1545041) return { reason: 'unavailable', unreachable: undefined };
  if (e.subcode === 2018001) return { reason: 'no_matching_user', unreachable: undefined };
  return undefined;
}
