import { randomUUID } from 'node:crypto';
import { type Selectable, sql } from 'kysely';
import { type ChannelSender, SendError, type SendResult } from '../channels/outbound.js';
import type { SenderRegistry } from '../channels/senders.js';
import type { DomainEvent } from '../realtime/bus.js';
import { findChannelById } from '../store/channels.js';
import { lastInboundAt } from '../store/dialogs.js';
import type { OutboxTable } from '../store/types.js';
import type { AppContext } from './context.js';
import { RoundLoop, releaseClaims } from './round-loop.js';
import { recordWebhookEvents } from './webhooks.js';

/**
 * Delivers queued messages (SPEC §4.2, issue 3 §4). Rows of the `outbox` table are claimed with a
 * lease (`locked_by`, `locked_until`); only the head of each dialog's queue can be claimed, so a
 * dialog's messages go out one at a time, in order, whatever the number of workers or nodes.
 * PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so nodes never wait on each other; SQLite has
 * one writer process by construction.
 *
 * Outcomes: sent (the platform's id stored, receipts move it on), a permanent failure (the
 * message fails with the reason; a blocked or unsubscribed client is marked unreachable), or a
 * transient one: retried with exponential backoff and jitter, or after the platform's own
 * `retry_after`, until `maxAttempts`. A node that dies mid-send leaves its claim to expire and be
 * retried: delivery is at least once toward the platform, which none of the four lets us make
 * idempotent (docs/ARCHITECTURE.md, "Outbound").
 */

export interface OutboxWorkerOptions {
  /** Identifies this node's claims. */
  nodeId?: string;
  /** How long a claim holds; a send takes at most the platform timeout (10–15 s). */
  leaseMs?: number;
  /** Rows claimed per round (different dialogs, sent concurrently). */
  batchSize?: number;
  /** How often due rows are looked for when nothing wakes the worker. */
  pollMs?: number;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  random?: () => number;
  /** Told of every send attempt (metrics): the channel's type, how it ended, the platform call's seconds. */
  observe?: (attempt: SendAttempt) => void;
}

/** One platform call of the worker: `sent`, `retry` (a transient failure, tried again) or `failed` (for good). */
export interface SendAttempt {
  platform: string;
  outcome: 'sent' | 'retry' | 'failed';
  seconds: number;
}

type OutboxRow = Selectable<OutboxTable>;

export class OutboxWorker {
  readonly #ctx: AppContext;
  readonly #senders: SenderRegistry;
  readonly #nodeId: string;
  readonly #leaseMs: number;
  readonly #batchSize: number;
  readonly #pollMs: number;
  readonly #maxAttempts: number;
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #random: () => number;
  readonly #observe: (attempt: SendAttempt) => void;
  readonly #rounds: RoundLoop;
  #unsubscribe: (() => void) | undefined;

  constructor(ctx: AppContext, senders: SenderRegistry, opts: OutboxWorkerOptions = {}) {
    this.#ctx = ctx;
    this.#senders = senders;
    this.#nodeId = opts.nodeId ?? randomUUID();
    this.#leaseMs = opts.leaseMs ?? 60_000;
    this.#batchSize = opts.batchSize ?? 16;
    this.#pollMs = opts.pollMs ?? 1_000;
    this.#maxAttempts = opts.maxAttempts ?? 20;
    this.#baseMs = opts.backoffBaseMs ?? 1_000;
    this.#capMs = opts.backoffCapMs ?? 10 * 60_000;
    this.#random = opts.random ?? Math.random;
    this.#observe = opts.observe ?? (() => {});
    this.#rounds = new RoundLoop(() => this.runOnce(), {
      pollMs: this.#pollMs,
      onError: (e) => this.#ctx.log.error({ err: e }, 'outbox round failed'),
    });
  }

  /** Polls, and wakes at once when a message is queued on this node. */
  start(): void {
    if (!this.#rounds.stopped) return;
    this.#unsubscribe = this.#ctx.bus.subscribe((e) => {
      if (e.type === 'outbox.pending') this.kick();
    });
    this.#rounds.start();
  }

  /** Looks for due rows now (or right after the round in progress). */
  kick(): void {
    this.#rounds.kick();
  }

  /** Stops claiming and waits for the sends in flight. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    await this.#rounds.stop();
  }

  /** Claims and processes one round of due rows; answers how many were processed. Tests call it directly. */
  async runOnce(): Promise<number> {
    const rows = await this.claim();
    await Promise.all(rows.map((r) => this.#process(r)));
    return rows.length;
  }

  /** Runs rounds until nothing is due (tests). */
  async drain(maxRounds = 1000): Promise<void> {
    for (let i = 0; i < maxRounds; i++) if ((await this.runOnce()) === 0) return;
  }

  /**
   * Makes every claim of an earlier process due now, instead of after its lease: for a store only
   * this process can write (SQLite under the server's lock, cli/start.ts), where any claim left is a
   * crashed run's. Never with several nodes: a live node's claim must hold. Answers how many.
   */
  async releaseClaims(): Promise<number> {
    return releaseClaims(this.#ctx.store.db, 'outbox');
  }

  /** Claims due rows: the head of each dialog's queue, not leased by anyone, oldest first. */
  async claim(): Promise<OutboxRow[]> {
    const now = this.#ctx.clock();
    const pg = this.#ctx.store.dialect === 'postgres';
    const lock = pg ? sql`FOR UPDATE SKIP LOCKED` : sql``;
    const res = await sql<OutboxRow>`
      UPDATE outbox SET locked_by = ${this.#nodeId}, locked_until = ${now + this.#leaseMs},
        attempts = attempts + 1, updated_at = ${now}
      WHERE (project_id, id) IN (
        SELECT o.project_id, o.id FROM outbox o
        WHERE o.status = 'pending' AND o.kind = 'message' AND o.next_attempt_at <= ${now}
          AND (o.locked_until IS NULL OR o.locked_until < ${now})
          AND NOT EXISTS (
            SELECT 1 FROM outbox p
            WHERE p.project_id = o.project_id AND p.dialog_id = o.dialog_id AND p.status = 'pending' AND p.id < o.id
          )
        ORDER BY o.next_attempt_at, o.id
        LIMIT ${this.#batchSize}
        ${lock}
      )
      RETURNING *`.execute(this.#ctx.store.db);
    return res.rows.map((r) => ({
      ...r,
      project_id: Number(r.project_id),
      id: Number(r.id),
      dialog_id: r.dialog_id === null ? null : Number(r.dialog_id),
      message_id: r.message_id === null ? null : Number(r.message_id),
      attempts: Number(r.attempts),
    }));
  }

  async #process(row: OutboxRow): Promise<void> {
    try {
      await this.#deliver(row);
    } catch (e) {
      // Our own failure (the store): the lease expires and the row is tried again.
      this.#ctx.log.error({ err: e, outboxId: row.id }, 'outbox row could not be processed');
    }
  }

  async #deliver(row: OutboxRow): Promise<void> {
    const { store } = this.#ctx;
    const projectId = row.project_id;
    const message =
      row.message_id === null
        ? undefined
        : await store.db
            .selectFrom('messages')
            .selectAll()
            .where('project_id', '=', projectId)
            .where('id', '=', row.message_id)
            .executeTakeFirst();
    if (message?.status !== 'queued') {
      await this.#finish(row, 'done', null);
      return;
    }
    const dialog = await store.db
      .selectFrom('dialogs')
      .select(['id', 'identity_id', 'number_id', 'outbound_only'])
      .where('project_id', '=', projectId)
      .where('id', '=', message.dialog_id)
      .executeTakeFirstOrThrow();
    const identity = await store.db
      .selectFrom('client_identities')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', dialog.identity_id)
      .executeTakeFirstOrThrow();
    const channel = await findChannelById(store, message.channel_id);

    let sender: ChannelSender | undefined;
    let result: SendResult;
    let startedAt: number | undefined;
    const observe = (outcome: SendAttempt['outcome']) => {
      // Only attempts that reached the platform (a refusal before it, such as an unreachable client, is not one).
      if (startedAt === undefined || !channel) return;
      this.#observe({ platform: channel.type, outcome, seconds: (performance.now() - startedAt) / 1000 });
    };
    try {
      if (!channel || channel.project_id !== projectId || channel.enabled !== 1) {
        throw new SendError({
          kind: 'permanent',
          reason: 'channel_removed',
          message: 'The channel was switched off or removed',
        });
      }
      if (identity.unreachable === 1) {
        throw new SendError({
          kind: 'permanent',
          reason: identity.unreachable_reason ?? 'unreachable',
          message: 'The client cannot be written to on this channel',
        });
      }
      sender = this.#senders.forChannel(channel);
      if (!sender) {
        throw new SendError({
          kind: 'transient',
          reason: 'not_connected',
          message: 'The channel is not connected yet',
        });
      }
      const number =
        dialog.number_id === null
          ? undefined
          : await store.db
              .selectFrom('numbers')
              .select('e164')
              .where('project_id', '=', projectId)
              .where('id', '=', dialog.number_id)
              .executeTakeFirst();
      startedAt = performance.now();
      result = await sender.send(
        {
          projectId,
          channelId: channel.id,
          externalUserId: identity.external_id,
          fromNumber: number?.e164 ?? null,
          outboundOnly: dialog.outbound_only === 1,
          lastInboundAt: channel.type === 'messenger' ? await lastInboundAt(store, identity.id, projectId) : null,
        },
        { messageId: message.id, text: message.text },
      );
    } catch (e) {
      const err =
        e instanceof SendError
          ? e
          : new SendError({ kind: 'transient', reason: 'error', message: e instanceof Error ? e.message : String(e) });
      observe(err.kind === 'transient' && row.attempts < this.#maxAttempts ? 'retry' : 'failed');
      await this.#failed(row, message.dialog_id, message.id, identity.id, err);
      return;
    }
    observe('sent');
    await this.#sent(row, message.dialog_id, message.id, message.channel_id, result);
  }

  async #sent(row: OutboxRow, dialogId: number, messageId: number, channelId: number, result: SendResult) {
    const now = this.#ctx.clock();
    const projectId = row.project_id;
    const parts = result.partIds && result.partIds.length > 1 ? result.partIds : [];
    const events: DomainEvent[] = [{ type: 'message.status', projectId, dialogId, messageId }];
    await this.#ctx.store.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('messages')
        .set({ status: 'sent', platform_message_id: result.platformMessageId, updated_at: now })
        .where('project_id', '=', projectId)
        .where('id', '=', messageId)
        .where('status', '=', 'queued')
        .execute();
      if (parts.length > 0) {
        await trx
          .insertInto('message_parts')
          .values(
            parts.map((p, i) => ({
              project_id: projectId,
              channel_id: channelId,
              platform_message_id: p,
              message_id: messageId,
              seq: i + 1,
              status: 'sent' as const,
              failure_reason: null,
            })),
          )
          .onConflict((oc) => oc.columns(['project_id', 'channel_id', 'platform_message_id']).doNothing())
          .execute();
      }
      await this.#finish(row, 'done', null, trx);
      await recordWebhookEvents(trx, this.#ctx, events);
    });
    this.#publish(events);
  }

  async #failed(row: OutboxRow, dialogId: number, messageId: number, identityId: number, err: SendError) {
    const now = this.#ctx.clock();
    const projectId = row.project_id;
    const detail = `${err.reason}: ${err.message}`.slice(0, 500);
    if (err.kind === 'transient' && row.attempts < this.#maxAttempts) {
      const delay = err.retryAfterMs ?? this.backoff(row.attempts);
      await this.#ctx.store.db
        .updateTable('outbox')
        .set({ next_attempt_at: now + delay, locked_until: null, locked_by: null, last_error: detail, updated_at: now })
        .where('project_id', '=', projectId)
        .where('id', '=', row.id)
        .where('locked_by', '=', this.#nodeId)
        .execute();
      this.#ctx.log.warn(
        { outboxId: row.id, messageId, attempt: row.attempts, delayMs: delay, reason: err.reason },
        'send retried later',
      );
      return;
    }
    const reason = err.kind === 'transient' ? `${err.reason} (gave up after ${row.attempts} attempts)` : err.reason;
    const events: DomainEvent[] = [{ type: 'message.status', projectId, dialogId, messageId }];
    await this.#ctx.store.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('messages')
        .set({ status: 'failed', failure_reason: `${reason}: ${err.message}`.slice(0, 500), updated_at: now })
        .where('project_id', '=', projectId)
        .where('id', '=', messageId)
        .where('status', '=', 'queued')
        .execute();
      if (err.unreachable) {
        await trx
          .updateTable('client_identities')
          .set({ unreachable: 1, unreachable_reason: err.unreachable })
          .where('project_id', '=', projectId)
          .where('id', '=', identityId)
          .execute();
        await trx
          .updateTable('dialogs')
          .set({ updated_at: now })
          .where('project_id', '=', projectId)
          .where('id', '=', dialogId)
          .execute();
        events.push({ type: 'dialog.updated', projectId, dialogId });
      }
      await this.#finish(row, 'failed', detail, trx);
      await recordWebhookEvents(trx, this.#ctx, events);
    });
    this.#ctx.log.warn({ outboxId: row.id, messageId, reason }, 'message failed');
    this.#publish(events);
  }

  async #finish(
    row: OutboxRow,
    status: 'done' | 'failed',
    lastError: string | null,
    db: Pick<AppContext['store']['db'], 'updateTable'> = this.#ctx.store.db,
  ) {
    await db
      .updateTable('outbox')
      .set({ status, locked_until: null, last_error: lastError, updated_at: this.#ctx.clock() })
      .where('project_id', '=', row.project_id)
      .where('id', '=', row.id)
      .execute();
  }

  /** Exponential backoff with "equal jitter": uniform in [base·2^(n-1) / 2, base·2^(n-1)], capped. */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.#capMs, this.#baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(ceiling / 2 + (this.#random() * ceiling) / 2);
  }

  #publish(events: DomainEvent[]) {
    for (const e of events) this.#ctx.bus.publish(e);
  }
}
