import type { AppContext } from '../services/context.js';
import { type ChannelRow, openCredentials } from '../store/channels.js';
import { MessengerSender } from './messenger/sender.js';
import type { ChannelSender } from './outbound.js';
import { SmsGatewaySender } from './sms-http/api.js';
import { TelegramSender } from './telegram/sender.js';
import { ViberSender } from './viber/sender.js';

/** Where SMS over SMPP goes out: the node's live SMPP sessions (channels/sms/smpp-runtime.ts). */
export interface SmppSenderSource {
  sender(channelId: number): ChannelSender | undefined;
}

/**
 * The sender for each channel, built from its sealed credentials and cached until the channel
 * row changes (updated_at). HTTP platforms get a fresh client per credentials; SMPP senders are
 * the long-lived sessions of the SMPP runtime.
 */
export class SenderRegistry {
  readonly #ctx: AppContext;
  readonly #smpp: SmppSenderSource | undefined;
  readonly #cache = new Map<number, { updatedAt: number; sender: ChannelSender }>();

  constructor(ctx: AppContext, opts: { smpp?: SmppSenderSource | undefined } = {}) {
    this.#ctx = ctx;
    this.#smpp = opts.smpp;
  }

  /** Undefined when this node cannot send on the channel now (an SMPP session not bound yet). */
  forChannel(row: ChannelRow): ChannelSender | undefined {
    if (row.type === 'sms') return this.#smpp?.sender(row.id);
    const hit = this.#cache.get(row.id);
    if (hit && hit.updatedAt === row.updated_at) return hit.sender;
    const sender = this.#build(row);
    if (sender) this.#cache.set(row.id, { updatedAt: row.updated_at, sender });
    return sender;
  }

  #build(row: ChannelRow): ChannelSender | undefined {
    const { config } = this.#ctx;
    const creds = openCredentials<Record<string, string>>(config.secretKey, row);
    const cfg = parseConfig(row.config);
    switch (row.type) {
      case 'telegram':
        return new TelegramSender({ baseUrl: config.telegramApiUrl, botToken: String(creds.botToken) });
      case 'viber':
        return new ViberSender({
          baseUrl: config.viberApiUrl,
          authToken: String(creds.authToken),
          senderName: typeof cfg.botName === 'string' && cfg.botName ? cfg.botName : row.name,
        });
      case 'messenger':
        return new MessengerSender({
          baseUrl: config.graphApiUrl,
          accessToken: String(creds.pageAccessToken),
          appSecret: String(creds.appSecret),
          pageId: String(creds.pageId),
          clock: this.#ctx.clock,
        });
      case 'sms-http':
        return new SmsGatewaySender({
          sendUrl: String(creds.sendUrl),
          secret: String(creds.secret),
          clock: this.#ctx.clock,
        });
      default:
        return undefined;
    }
  }
}

function parseConfig(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text || '{}') as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
