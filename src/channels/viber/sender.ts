/**
 * Replies through Viber's "Send Message" (https://developers.viber.com/docs/api/rest-bot-api/#send-message):
 * a text message from the bot's name. The "Errors" table: 6 receiverNotSubscribed (the person
 * unsubscribed: we may not write again until they do), 5 receiverNotRegistered, 11
 * receiverNoSuitableDevice are permanent; 12 tooManyRequests and unlisted statuses are retried.
 */
import type { PlatformError } from '../../core/errors.js';
import {
  type ChannelSender,
  type OutboundTarget,
  type OutboundText,
  type SendResult,
  sendErrorFrom,
} from '../outbound.js';
import { ViberApi, type ViberApiOptions } from './api.js';

export class ViberSender implements ChannelSender {
  readonly #api: ViberApi;
  readonly #senderName: string;

  constructor(opts: ViberApiOptions & { senderName: string }) {
    this.#api = new ViberApi(opts);
    this.#senderName = opts.senderName;
  }

  async send(target: OutboundTarget, message: OutboundText): Promise<SendResult> {
    try {
      const sent = await this.#api.sendText({
        receiver: target.externalUserId,
        text: message.text,
        senderName: this.#senderName,
        trackingData: `dz:${message.messageId}`,
      });
      return { platformMessageId: String(sent.message_token) };
    } catch (e) {
      throw sendErrorFrom(e, classify);
    }
  }
}

function classify(e: PlatformError) {
  if (e.code === 6) return { reason: 'unsubscribed', unreachable: 'unsubscribed' as const };
  if (e.code === 5) return { reason: 'not_registered', unreachable: undefined };
  if (e.code === 11) return { reason: 'no_suitable_device', unreachable: undefined };
  return undefined;
}
