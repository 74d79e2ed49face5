/**
 * The node's SMPP sessions (SPEC §4.1, §4.2, R6): one SmppClient per enabled `sms` channel, bound
 * for as long as the channel is enabled, feeding the one inbound pipeline (services/receive-inbound.ts)
 * and lending the outbox its senders.
 *
 * - Client messages: the destination address names which of our numbers received it (numbers.e164
 *   in the channel's project) → `numberId`. A number that is outbound-only (its override, else the
 *   project's / installation's prefixes) or has SMS switched off refuses inbound: the message is
 *   logged and acknowledged to the SMSC without being stored (a refusal would only make the SMSC
 *   retry). A destination that is no registered number is stored without a number, with a warning.
 * - Receipts go to the pipeline with the part's message_id; it finds the message by any part's id.
 * - The deliver_sm is acknowledged only after receiveInbound committed (SmppClient's contract); a
 *   failure to store answers ESME_RX_T_APPN and the SMSC delivers again.
 */

import { isOutboundOnly } from '../../core/sms.js';
import { SmppCredentials } from '../../services/channels.js';
import type { AppContext } from '../../services/context.js';
import { numberIsOutboundOnly, outboundOnlyPrefixes } from '../../services/numbers.js';
import { receiveInbound } from '../../services/receive-inbound.js';
import { type ChannelRow, findChannelById, openCredentials } from '../../store/channels.js';
import type { InboundMessageEvent, InboundReceiptEvent } from '../../core/inbound.js';
import type { ChannelSender } from '../outbound.js';
import { SmppClient, type SmppClientState, type SmppMoMeta, type SmppTiming } from './smpp-client.js';
import { SmppSender } from './smpp-sender.js';

interface Session {
  channelId: number;
  projectId: number;
  /** Credentials and project as the session was started with: a change means a new session. */
  fingerprint: string;
  client: SmppClient;
  sender: SmppSender;
}

export interface SmppChannelStatus {
  channelId: number;
  projectId: number;
  state: SmppClientState;
  lastError: string | null;
}

/** Pauses before trying an unknown receipt again; null: give up (acknowledged, nothing changes). */
const RECEIPT_RETRY_MS: readonly (number | null)[] = [200, 1000, null];

export class SmppChannels {
  readonly #ctx: AppContext;
  readonly #timing: Partial<SmppTiming> | undefined;
  readonly #sessions = new Map<number, Session>();
  readonly #chains = new Map<number, Promise<void>>();
  #closed = false;

  /** `timing` tunes every client (tests shorten the reconnect backoff and timeouts). */
  constructor(ctx: AppContext, opts: { timing?: Partial<SmppTiming> } = {}) {
    this.#ctx = ctx;
    this.#timing = opts.timing;
  }

  /** Connects every enabled SMS (SMPP) channel; does not wait for the binds. */
  async start(): Promise<void> {
    const rows = await this.#ctx.store.db
      .selectFrom('channels')
      .selectAll()
      .where('type', '=', 'sms')
      .where('enabled', '=', 1)
      .orderBy('id')
      .execute();
    await Promise.all(rows.map((row) => this.#serial(row.id, () => this.#apply(row.id, row))));
  }

  /**
   * The channel's sender while its session is bound; undefined when this node cannot send on it
   * now (no such enabled channel, or not bound yet): the outbox retries later.
   */
  sender(channelId: number): ChannelSender | undefined {
    const s = this.#sessions.get(channelId);
    return s?.client.isBound ? s.sender : undefined;
  }

  /** The channel's live client (tests, health checks). */
  client(channelId: number): SmppClient | undefined {
    return this.#sessions.get(channelId)?.client;
  }

  status(): SmppChannelStatus[] {
    return [...this.#sessions.values()].map((s) => ({
      channelId: s.channelId,
      projectId: s.projectId,
      state: s.client.state,
      lastError: s.client.lastError?.message ?? null,
    }));
  }

  /**
   * After a channel was created, updated, disabled or removed: starts its session, replaces it when
   * the credentials changed, or closes it when the channel is gone or disabled.
   */
  reload(channelId: number): Promise<void> {
    return this.#serial(channelId, async () =>
      this.#apply(channelId, await findChannelById(this.#ctx.store, channelId)),
    );
  }

  /** Unbinds every session; nothing is left running. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#chains.values()]);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s.client.close()));
  }

  async #apply(channelId: number, row: ChannelRow | undefined): Promise<void> {
    const current = this.#sessions.get(channelId);
    const creds = !this.#closed && row && row.type === 'sms' && row.enabled === 1 ? this.#credentials(row) : null;
    const fingerprint = row && creds ? JSON.stringify([row.project_id, creds]) : '';
    if (current && current.fingerprint === fingerprint) return;
    if (current) {
      this.#sessions.delete(channelId);
      await current.client.close();
      this.#ctx.log.info({ channelId }, 'SMPP: session closed (channel changed, disabled or removed)');
    }
    if (!row || !creds || this.#closed) return;
    const channel = { id: row.id, projectId: row.project_id, type: 'sms' as const };
    const client = new SmppClient({
      credentials: creds,
      name: `channel ${row.id}`,
      log: this.#ctx.log,
      clock: this.#ctx.clock,
      ...(this.#timing ? { timing: this.#timing } : {}),
      onMo: (ev, meta) => this.#onMo(channel, ev, meta),
      onReceipt: async (ev: InboundReceiptEvent) => {
        // A fast SMSC can report delivery before the worker has committed the submit_sm_resp's id:
        // an unknown id is tried again shortly, before the deliver_sm is acknowledged.
        for (const waitMs of RECEIPT_RETRY_MS) {
          const [outcome] = await receiveInbound(this.#ctx, channel, [ev]);
          if (outcome?.outcome !== 'ignored' || waitMs === null || this.#closed) return;
          await new Promise((r) => setTimeout(r, waitMs));
        }
      },
    });
    this.#sessions.set(channelId, {
      channelId,
      projectId: row.project_id,
      fingerprint,
      client,
      sender: new SmppSender(client),
    });
    client.start();
  }

  #credentials(row: ChannelRow): SmppCredentials | null {
    let raw: unknown;
    try {
      raw = openCredentials(this.#ctx.config.secretKey, row);
    } catch {
      this.#ctx.log.error(
        { channelId: row.id },
        'SMPP: the channel credentials cannot be decrypted (was SECRET_KEY changed?); not connecting',
      );
      return null;
    }
    const parsed = SmppCredentials.safeParse(raw);
    if (!parsed.success) {
      this.#ctx.log.error({ channelId: row.id }, 'SMPP: the channel has no complete SMPP credentials; not connecting');
      return null;
    }
    return parsed.data;
  }

  async #onMo(
    channel: { id: number; projectId: number; type: 'sms' },
    ev: InboundMessageEvent,
    meta: SmppMoMeta,
  ): Promise<void> {
    const prefixes = await outboundOnlyPrefixes(this.#ctx, channel.projectId);
    const number = meta.to
      ? await this.#ctx.store.db
          .selectFrom('numbers')
          .selectAll()
          .where('project_id', '=', channel.projectId)
          .where('e164', '=', meta.to)
          .executeTakeFirst()
      : undefined;
    const refuse = (why: string) =>
      this.#ctx.log.info(
        { channelId: channel.id, to: meta.to, numberId: number?.id },
        `SMPP: client message to ${why} acknowledged and not stored`,
      );
    if (number) {
      if (numberIsOutboundOnly(number, prefixes)) return refuse('an outbound-only number');
      if (number.sms_enabled !== 1) return refuse('a number with SMS switched off');
      if (number.channel_id !== channel.id) {
        this.#ctx.log.warn(
          { channelId: channel.id, numberId: number.id, numberChannelId: number.channel_id },
          'SMPP: client message to a number of another channel',
        );
      }
    } else {
      if (meta.to && isOutboundOnly(meta.to, prefixes)) return refuse('an outbound-only number');
      this.#ctx.log.warn(
        { channelId: channel.id, to: meta.to ?? meta.destination.addr },
        'SMPP: client message to a number that is not registered; stored without a number',
      );
    }
    await receiveInbound(this.#ctx, channel, [number ? { ...ev, numberId: number.id } : ev]);
  }

  #serial(channelId: number, fn: () => Promise<void>): Promise<void> {
    const next = (this.#chains.get(channelId) ?? Promise.resolve()).then(fn);
    const tail = next.catch((e: unknown) => {
      this.#ctx.log.error({ channelId, err: String(e) }, 'SMPP: starting or reloading the channel session failed');
    });
    this.#chains.set(channelId, tail);
    void tail.then(() => {
      if (this.#chains.get(channelId) === tail) this.#chains.delete(channelId);
    });
    return next;
  }
}
