import { createHmac, randomUUID } from 'node:crypto';
import { type Selectable, sql } from 'kysely';
import type { WebhookDeliveriesTable } from '../store/types.js';
import type { AppContext, ProjectContext } from './context.js';
import { RoundLoop, releaseClaims } from './round-loop.js';
import { audit } from './audit.js';
import { endpointsChanged, openSecret } from './webhooks.js';

/**
 * Sends outgoing webhook deliveries (issue 7 §2, docs/WEBHOOKS.md), the way the OutboxWorker sends
 * replies: rows are claimed with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), and only the oldest
 * pending row of each (endpoint, dialog) pair is claimable, so a receiver sees a dialog's events in
 * order. A 2xx is delivered; anything else is retried with exponential backoff and jitter until
 * 24 hours after the first attempt, then the row is `dead`. An endpoint whose attempts keep failing
 * (`pauseAfterFailures` in a row, over `pauseAfterMs`) is paused and the pause written to the audit log.
 */

export interface WebhookWorkerOptions {
  nodeId?: string;
  leaseMs?: number;
  batchSize?: number;
  pollMs?: number;
  timeoutMs?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** How long after its first attempt a delivery is retried before it is dead. */
  retryWindowMs?: number;
  /**
   * An endpoint is paused once its attempts have failed this many times in a row and for this long
   * (default 20 and 24 hours: a whole retry window without one success; a short outage hitting many
   * dialogs at once must not pause it).
   */
  pauseAfterFailures?: number;
  pauseAfterMs?: number;
  random?: () => number;
  fetch?: typeof fetch;
}

type DeliveryRow = Selectable<WebhookDeliveriesTable>;

export const SIGNATURE_HEADER = 'Dziennik-Webhook-Signature';
export const TIMESTAMP_HEADER = 'Dziennik-Webhook-Timestamp';
export const ID_HEADER = 'Dziennik-Webhook-Id';
const EXCERPT = 500;

/** `v1=` + hex HMAC-SHA256 of `<id>.<timestamp>.<raw body>` (docs/WEBHOOKS.md). */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('hex')}`;
}

export class WebhookWorker {
  readonly #ctx: AppContext;
  readonly #nodeId: string;
  readonly #leaseMs: number;
  readonly #batchSize: number;
  readonly #pollMs: number;
  readonly #timeoutMs: number;
  readonly #baseMs: number;
  readonly #capMs: number;
  readonly #windowMs: number;
  readonly #pauseAfter: number;
  readonly #pauseAfterMs: number;
  readonly #random: () => number;
  readonly #fetch: typeof fetch;
  readonly #rounds: RoundLoop;
  #unsubscribe: (() => void) | undefined;

  constructor(ctx: AppContext, opts: WebhookWorkerOptions = {}) {
    this.#ctx = ctx;
    this.#nodeId = opts.nodeId ?? randomUUID();
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#leaseMs = opts.leaseMs ?? this.#timeoutMs + 20_000;
    this.#batchSize = opts.batchSize ?? 16;
    this.#pollMs = opts.pollMs ?? 2_000;
    this.#baseMs = opts.backoffBaseMs ?? 10_000;
    this.#capMs = opts.backoffCapMs ?? 60 * 60_000;
    this.#windowMs = opts.retryWindowMs ?? 24 * 60 * 60_000;
    this.#pauseAfter = opts.pauseAfterFailures ?? 20;
    this.#pauseAfterMs = opts.pauseAfterMs ?? 24 * 60 * 60_000;
    this.#random = opts.random ?? Math.random;
    this.#fetch = opts.fetch ?? fetch;
    this.#rounds = new RoundLoop(() => this.runOnce(), {
      pollMs: this.#pollMs,
      onError: (e) => this.#ctx.log.error({ err: e }, 'webhook round failed'),
    });
  }

  /**
   * Sends deliveries: polls, and wakes when a transaction wrote some (bus event `webhook.pending`,
   * published after its commit, on every node) or events may have been missed (`bus.resync`).
   */
  start(): void {
    if (!this.#rounds.stopped) return;
    this.#unsubscribe = this.#ctx.bus.subscribe((e) => {
      if (e.type === 'webhook.pending' || e.type === 'bus.resync') this.kick();
    });
    this.#rounds.start();
  }

  kick(): void {
    this.#rounds.kick();
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    await this.#rounds.stop();
  }

  /** Claims and sends one round of due deliveries; answers how many. Tests call it directly. */
  async runOnce(): Promise<number> {
    const rows = await this.claim();
    await Promise.all(rows.map((r) => this.#process(r)));
    return rows.length;
  }

  async drain(maxRounds = 1000): Promise<void> {
    for (let i = 0; i < maxRounds; i++) if ((await this.runOnce()) === 0) return;
  }

  /** As OutboxWorker.releaseClaims: a crashed run's claims due now; only for a one-process store. */
  async releaseClaims(): Promise<number> {
    return releaseClaims(this.#ctx.store.db, 'webhook_deliveries');
  }

  /** Due rows that head their (endpoint, dialog) queue, of enabled, unpaused endpoints, not leased. */
  async claim(): Promise<DeliveryRow[]> {
    const now = this.#ctx.clock();
    const lock = this.#ctx.store.dialect === 'postgres' ? sql`FOR UPDATE OF d SKIP LOCKED` : sql``;
    const res = await sql<DeliveryRow>`
      UPDATE webhook_deliveries SET locked_by = ${this.#nodeId}, locked_until = ${now + this.#leaseMs},
        attempts = attempts + 1, first_attempt_at = COALESCE(first_attempt_at, ${now})
      WHERE (project_id, id) IN (
        SELECT d.project_id, d.id FROM webhook_deliveries d
        JOIN webhook_endpoints e ON e.project_id = d.project_id AND e.id = d.endpoint_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= ${now}
          AND (d.locked_until IS NULL OR d.locked_until < ${now})
          AND e.enabled = 1 AND e.paused_at IS NULL
          AND NOT EXISTS (
            SELECT 1 FROM webhook_deliveries p
            WHERE p.project_id = d.project_id AND p.endpoint_id = d.endpoint_id AND p.dialog_id = d.dialog_id
              AND p.status = 'pending' AND p.id < d.id
          )
        ORDER BY d.next_attempt_at, d.id
        LIMIT ${this.#batchSize}
        ${lock}
      )
      RETURNING *`.execute(this.#ctx.store.db);
    return res.rows.map((r) => ({
      ...r,
      project_id: Number(r.project_id),
      id: Number(r.id),
      endpoint_id: Number(r.endpoint_id),
      dialog_id: r.dialog_id === null ? null : Number(r.dialog_id),
      attempts: Number(r.attempts),
      next_attempt_at: Number(r.next_attempt_at),
      first_attempt_at: r.first_attempt_at === null ? null : Number(r.first_attempt_at),
    }));
  }

  async #process(row: DeliveryRow): Promise<void> {
    try {
      await this.#deliver(row);
    } catch (e) {
      // Our own failure (the store): the lease expires and the row is tried again.
      this.#ctx.log.error({ err: e, deliveryId: row.id }, 'webhook delivery could not be processed');
    }
  }

  async #deliver(row: DeliveryRow): Promise<void> {
    const { db } = this.#ctx.store;
    const endpoint = await db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('project_id', '=', row.project_id)
      .where('id', '=', row.endpoint_id)
      .executeTakeFirst();
    if (!endpoint) {
      await db
        .deleteFrom('webhook_deliveries')
        .where('project_id', '=', row.project_id)
        .where('id', '=', row.id)
        .execute();
      return;
    }
    const timestamp = Math.floor(this.#ctx.clock() / 1000);
    let status: number | null = null;
    let excerpt: string | null = null;
    let error: string | null = null;
    try {
      const secret = openSecret(this.#ctx.config.secretKey, endpoint);
      const res = await this.#fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Dziennik-Webhooks/1',
          [ID_HEADER]: row.uid,
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(secret, row.uid, timestamp, row.payload),
        },
        body: row.payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = res.status;
      excerpt = (await readExcerpt(res)).slice(0, EXCERPT);
    } catch (e) {
      error =
        e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')
          ? `no answer within ${this.#timeoutMs / 1000} s`
          : String(e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : e).slice(0, EXCERPT);
    }
    const now = this.#ctx.clock();
    const ok = status !== null && status >= 200 && status < 300;
    if (ok) {
      await db
        .updateTable('webhook_deliveries')
        .set({
          status: 'delivered',
          delivered_at: now,
          response_status: status,
          response_body_excerpt: excerpt,
          error: null,
          locked_by: null,
          locked_until: null,
        })
        .where('project_id', '=', row.project_id)
        .where('id', '=', row.id)
        .execute();
      await db
        .updateTable('webhook_endpoints')
        .set({ consecutive_failures: 0, failing_since: null })
        .where('project_id', '=', row.project_id)
        .where('id', '=', row.endpoint_id)
        .execute();
      return;
    }
    if (status !== null) error = `HTTP ${status}`;
    const first = row.first_attempt_at ?? now;
    const delay =
      Math.min(this.#capMs, this.#baseMs * 2 ** Math.min(30, row.attempts - 1)) * (0.5 + this.#random() / 2);
    const dead = now + delay - first > this.#windowMs;
    await db
      .updateTable('webhook_deliveries')
      .set({
        status: dead ? 'dead' : 'pending',
        next_attempt_at: dead ? now : Math.round(now + delay),
        response_status: status,
        response_body_excerpt: excerpt,
        error,
        locked_by: null,
        locked_until: null,
      })
      .where('project_id', '=', row.project_id)
      .where('id', '=', row.id)
      .execute();
    const updated = await db
      .updateTable('webhook_endpoints')
      .set((eb) => ({
        consecutive_failures: eb('consecutive_failures', '+', 1),
        failing_since: eb.fn.coalesce('failing_since', eb.val(now)),
      }))
      .where('project_id', '=', row.project_id)
      .where('id', '=', row.endpoint_id)
      .returning(['consecutive_failures', 'failing_since', 'paused_at'])
      .executeTakeFirst();
    const failures = Number(updated?.consecutive_failures ?? 0);
    const since = updated?.failing_since == null ? now : Number(updated.failing_since);
    if (updated && updated.paused_at === null && failures >= this.#pauseAfter && now - since >= this.#pauseAfterMs)
      await this.#pause(
        row.project_id,
        row.endpoint_id,
        `${failures} failed attempts in a row over ${Math.round((now - since) / 60_000)} min (last: ${error})`,
      );
  }

  async #pause(projectId: number, endpointId: number, reason: string): Promise<void> {
    const { db } = this.#ctx.store;
    const now = this.#ctx.clock();
    await db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('webhook_endpoints')
        .set({ paused_at: now, pause_reason: reason })
        .where('project_id', '=', projectId)
        .where('id', '=', endpointId)
        .where('paused_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return;
      const project = await trx
        .selectFrom('projects')
        .select(['name', 'time_zone', 'language'])
        .where('id', '=', projectId)
        .executeTakeFirstOrThrow();
      const ctx: ProjectContext = {
        ...this.#ctx,
        project: { id: projectId, name: project.name, timeZone: project.time_zone, language: project.language },
        actor: { type: 'system', name: 'webhooks' },
      };
      await audit(ctx, trx, 'webhook.pause', { type: 'webhook', id: endpointId }, { reason });
    });
    // Nothing more is queued for it: the services' cached endpoint lists drop it.
    endpointsChanged(this.#ctx, projectId);
    this.#ctx.log.warn({ projectId, endpointId, reason }, 'webhook endpoint paused');
  }
}

async function readExcerpt(res: Response): Promise<string> {
  try {
    return await res.text();
  } catch {
    return '';
  }
}
