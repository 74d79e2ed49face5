/**
 * Replies through the Bot API "sendMessage" (https://core.telegram.org/bots/api#sendmessage), as
 * plain text (no parse_mode). Errors as the Bot API documents them ("Making requests": ok false,
 * error_code, description, parameters.retry_after on 429): 403 "Forbidden: bot was blocked by the
 * user" means the person can no longer be written to; "user is deactivated" and "chat not found"
 * are permanent too.
 */
import type { PlatformError } from '../../core/errors.js';
import {
  type ChannelSender,
  type OutboundTarget,
  type OutboundText,
  type SendResult,
  sendErrorFrom,
} from '../outbound.js';
import { TelegramApi, type TelegramApiOptions } from './api.js';

export class TelegramSender implements ChannelSender {
  readonly #api: TelegramApi;

  constructor(opts: TelegramApiOptions) {
    this.#api = new TelegramApi(opts);
  }

  async send(target: OutboundTarget, message: OutboundText): Promise<SendResult> {
    try {
      const sent = await this.#api.sendMessage({
        chat_id: target.externalUserId,
        text: message.text,
        link_preview_options: { is_disabled: true },
      });
      // The same key as inbound messages: message_id is unique per chat only.
      return { platformMessageId: `${sent.chat?.id ?? target.externalUserId}:${sent.message_id}` };
    } catch (e) {
      throw sendErrorFrom(e, classify);
    }
  }
}

function classify(e: PlatformError) {
  const d = e.description.toLowerCase();
  if (e.code === 403 && d.includes('blocked')) return { reason: 'blocked', unreachable: 'blocked' as const };
  if (e.code === 403 && d.includes('deactivated')) return { reason: 'deactivated', unreachable: 'blocked' as const };
  if (d.includes('chat not found')) return { reason: 'chat_not_found', unreachable: undefined };
  return undefined;
}
