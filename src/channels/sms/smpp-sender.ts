/**
 * The outbound port (channels/outbound.ts) for an SMS channel over SMPP 3.4: one message becomes
 * one submit_sm per part (SmppClient.submit, §4.4). The first part's message_id is the message's
 * platform id; every part's id is returned, since delivery receipts come per part (§5.2.17).
 *
 * Originator (SPEC R6, §7): an outbound-only number sends as the alphanumeric "SMS" (TON 5, NPI 0);
 * any other number sends as itself (E.164 digits, TON/NPI 1/1 unless the channel sets others).
 */

import type { ChannelSender, OutboundTarget, OutboundText, SendResult } from '../outbound.js';
import { SendError } from '../outbound.js';
import type { SmppClient } from './smpp-client.js';

export class SmppSender implements ChannelSender {
  readonly #client: SmppClient;
  readonly #ownsClient: boolean;

  /** `ownsClient`: close() also closes the client (by default the SMPP runtime owns it). */
  constructor(client: SmppClient, opts: { ownsClient?: boolean } = {}) {
    this.#client = client;
    this.#ownsClient = opts.ownsClient ?? false;
  }

  async send(target: OutboundTarget, message: OutboundText): Promise<SendResult> {
    try {
      const partIds = await this.#client.submit({
        from: target.fromNumber ?? null,
        outboundOnly: target.outboundOnly === true,
        to: target.externalUserId,
        text: message.text,
      });
      return { platformMessageId: partIds[0] ?? null, partIds };
    } catch (e) {
      if (e instanceof SendError) throw e;
      throw new SendError({ kind: 'transient', reason: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  }

  async close(): Promise<void> {
    if (this.#ownsClient) await this.#client.close();
  }
}
