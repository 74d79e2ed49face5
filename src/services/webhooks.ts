import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { NotFoundError } from '../core/errors.js';
import { open, seal } from '../core/secret-box.js';
import type { DomainEvent } from '../realtime/bus.js';
import type { WebhookDeliveriesTable, WebhookEndpointsTable } from '../store/types.js';
import type { Selectable } from 'kysely';
import { audit } from './audit.js';
import type { AppContext, ProjectContext } from './context.js';
import { dialogDto, messageDto } from './dto.js';

/**
 * Outgoing webhooks (issue 7 §2, SPEC §4.9, docs/WEBHOOKS.md): endpoints an admin manages, and the
 * producer that turns bus events into delivery rows. The WebhookWorker (webhook-worker.ts) sends them.
 */

export const WEBHOOK_EVENTS = ['dialog.opened', 'dialog.closed', 'message.created', 'message.status'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

const HttpUrl = z
  .string()
  .trim()
  .max(2000)
  .refine(
    (v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'http:' || u.protocol === 'https:';
      } catch {
        return false;
      }
    },
    { message: 'must be an http(s) URL' },
  );
const Events = z.array(z.enum(WEBHOOK_EVENTS)).min(1, 'subscribe to at least one event').max(WEBHOOK_EVENTS.length);

export const CreateWebhookInput = z.strictObject({ url: HttpUrl, events: Events });
export type CreateWebhookInput = z.infer<typeof CreateWebhookInput>;
export const UpdateWebhookInput = z.strictObject({
  url: HttpUrl.optional(),
  events: Events.optional(),
  enabled: z.boolean().optional(),
});
export type UpdateWebhookInput = z.infer<typeof UpdateWebhookInput>;
export const DeliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  before: z.coerce.number().int().positive().optional().describe('Delivery id: the page older than it'),
});

export const WebhookSchema = z.object({
  id: z.number(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  enabled: z.boolean(),
  paused: z.boolean(),
  pausedAt: z.string().nullable(),
  pauseReason: z.string().nullable(),
  consecutiveFailures: z.number(),
  createdAt: z.string(),
});
export const CreatedWebhookSchema = WebhookSchema.extend({
  secret: z.string().describe('The signing secret, shown only in this answer'),
});
export const DeliverySchema = z.object({
  id: z.number(),
  uid: z.string(),
  type: z.string(),
  dialogId: z.number().nullable(),
  status: z.enum(['pending', 'delivered', 'failed', 'dead']),
  attempts: z.number(),
  nextAttemptAt: z.string().nullable(),
  responseStatus: z.number().nullable(),
  responseBodyExcerpt: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  deliveredAt: z.string().nullable(),
});

type EndpointRow = Selectable<WebhookEndpointsTable>;
type DeliveryRow = Selectable<WebhookDeliveriesTable>;
const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export const secretContext = (projectId: number, endpointId: number) => `webhook:${projectId}:${endpointId}`;
export function openSecret(secretKey: string, row: EndpointRow): string {
  return open(secretKey, secretContext(Number(row.project_id), Number(row.id)), row.secret);
}

function parseEvents(raw: string): WebhookEvent[] {
  try {
    const v = JSON.parse(raw);
    return Array.isArray(v)
      ? v.filter((e): e is WebhookEvent => (WEBHOOK_EVENTS as readonly string[]).includes(e))
      : [];
  } catch {
    return [];
  }
}

export function webhookDto(r: EndpointRow): z.infer<typeof WebhookSchema> {
  return {
    id: Number(r.id),
    url: r.url,
    events: parseEvents(r.events),
    enabled: Number(r.enabled) === 1,
    paused: r.paused_at !== null,
    pausedAt: iso(r.paused_at),
    pauseReason: r.pause_reason,
    consecutiveFailures: Number(r.consecutive_failures),
    createdAt: iso(r.created_at)!,
  };
}

export function deliveryDto(r: DeliveryRow): z.infer<typeof DeliverySchema> {
  return {
    id: Number(r.id),
    uid: r.uid,
    type: r.event_type,
    dialogId: r.dialog_id === null ? null : Number(r.dialog_id),
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
    responseStatus: r.response_status === null ? null : Number(r.response_status),
    responseBodyExcerpt: r.response_body_excerpt,
    error: r.error,
    createdAt: iso(r.created_at)!,
    deliveredAt: iso(r.delivered_at),
  };
}

async function loadEndpoint(ctx: ProjectContext, id: number): Promise<EndpointRow> {
  const row = await ctx.store.db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Webhook');
  return row;
}

export async function listWebhooks(ctx: ProjectContext) {
  const rows = await ctx.store.db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .orderBy('id')
    .execute();
  return { items: rows.map(webhookDto) };
}

export async function createWebhook(ctx: ProjectContext, input: CreateWebhookInput) {
  const secret = `whsec_${randomBytes(24).toString('base64url')}`;
  const now = ctx.clock();
  const row = await ctx.store.db.transaction().execute(async (trx) => {
    // Inserted first: the secret is sealed with the row's id.
    const { id } = await trx
      .insertInto('webhook_endpoints')
      .values({
        project_id: ctx.project.id,
        url: input.url,
        events: JSON.stringify([...new Set(input.events)]),
        secret: '',
        enabled: 1,
        paused_at: null,
        pause_reason: null,
        consecutive_failures: 0,
        failing_since: null,
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const sealed = seal(ctx.config.secretKey, secretContext(ctx.project.id, Number(id)), secret);
    const r = await trx
      .updateTable('webhook_endpoints')
      .set({ secret: sealed })
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(
      ctx,
      trx,
      'webhook.create',
      { type: 'webhook', id: Number(id) },
      { url: input.url, events: input.events },
    );
    return r;
  });
  return { ...webhookDto(row), secret };
}

export async function updateWebhook(ctx: ProjectContext, id: number, input: UpdateWebhookInput) {
  await loadEndpoint(ctx, id);
  const row = await ctx.store.db.transaction().execute(async (trx) => {
    const r = await trx
      .updateTable('webhook_endpoints')
      .set({
        ...(input.url !== undefined ? { url: input.url } : {}),
        ...(input.events !== undefined ? { events: JSON.stringify([...new Set(input.events)]) } : {}),
        ...(input.enabled !== undefined ? { enabled: input.enabled ? 1 : 0 } : {}),
        // Enabling is how an admin resumes a paused endpoint.
        ...(input.enabled === true
          ? { paused_at: null, pause_reason: null, consecutive_failures: 0, failing_since: null }
          : {}),
      })
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(ctx, trx, 'webhook.update', { type: 'webhook', id }, { ...input });
    return r;
  });
  return webhookDto(row);
}

export async function deleteWebhook(ctx: ProjectContext, id: number) {
  await loadEndpoint(ctx, id);
  await ctx.store.db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('webhook_deliveries')
      .where('project_id', '=', ctx.project.id)
      .where('endpoint_id', '=', id)
      .execute();
    await trx.deleteFrom('webhook_endpoints').where('project_id', '=', ctx.project.id).where('id', '=', id).execute();
    await audit(ctx, trx, 'webhook.delete', { type: 'webhook', id });
  });
}

export async function listDeliveries(ctx: ProjectContext, id: number, q: z.infer<typeof DeliveriesQuery>) {
  await loadEndpoint(ctx, id);
  let query = ctx.store.db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .where('endpoint_id', '=', id);
  if (q.before !== undefined) query = query.where('id', '<', q.before);
  const rows = await query
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute();
  const items = rows.slice(0, q.limit).map(deliveryDto);
  return { items, nextBefore: rows.length > q.limit ? items[items.length - 1]!.id : null };
}

/** A new attempt for a delivery: pending again now, its attempts kept, its 24 hours counted anew. */
export async function redeliver(ctx: ProjectContext, id: number, deliveryId: number) {
  await loadEndpoint(ctx, id);
  const now = ctx.clock();
  const row = await ctx.store.db
    .updateTable('webhook_deliveries')
    .set({
      status: 'pending',
      next_attempt_at: now,
      first_attempt_at: null,
      locked_until: null,
      locked_by: null,
      delivered_at: null,
    })
    .where('project_id', '=', ctx.project.id)
    .where('endpoint_id', '=', id)
    .where('id', '=', deliveryId)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Delivery');
  await audit(ctx, ctx.store.db, 'webhook.redeliver', { type: 'webhook', id }, { deliveryId });
  // The WebhookWorker polls every 2 s; no bus event is needed.
  return deliveryDto(row);
}

// ---------------------------------------------------------------------------------------------
// Producing

/**
 * Turns a committed domain event into delivery rows, one per subscribed endpoint. Every node may
 * receive the same event: the unique `event_key` makes the insert idempotent. Answers how many rows
 * this call inserted.
 */
export async function produceWebhookDeliveries(ctx: AppContext, e: DomainEvent): Promise<number> {
  if (
    e.type !== 'dialog.created' &&
    e.type !== 'dialog.updated' &&
    e.type !== 'message.created' &&
    e.type !== 'message.status'
  )
    return 0;
  const { db } = ctx.store;
  const endpoints = await db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('project_id', '=', e.projectId)
    .where('enabled', '=', 1)
    .where('paused_at', 'is', null)
    .execute();
  if (endpoints.length === 0) return 0;
  const dialog = await db
    .selectFrom('dialogs')
    .selectAll()
    .where('project_id', '=', e.projectId)
    .where('id', '=', e.dialogId)
    .executeTakeFirst();
  if (!dialog) return 0;
  let type: WebhookEvent;
  let key: string;
  let message: ReturnType<typeof messageDto> | undefined;
  if (e.type === 'dialog.created') {
    type = 'dialog.opened';
    key = `dialog.opened:${e.dialogId}`;
  } else if (e.type === 'dialog.updated') {
    // Only a close is an event; one per (dialog, closed_at), however many updates follow it.
    if (dialog.status !== 'closed' || dialog.closed_at === null) return 0;
    type = 'dialog.closed';
    key = `dialog.closed:${e.dialogId}:${dialog.closed_at}`;
  } else {
    const messageId = 'messageId' in e ? e.messageId : 0;
    const m = await db
      .selectFrom('messages')
      .selectAll()
      .where('project_id', '=', e.projectId)
      .where('id', '=', messageId)
      .executeTakeFirst();
    if (!m) return 0;
    message = messageDto(m);
    type = e.type;
    key = e.type === 'message.created' ? `message.created:${messageId}` : `message.status:${messageId}:${m.status}`;
  }
  const now = ctx.clock();
  let inserted = 0;
  for (const ep of endpoints) {
    if (!parseEvents(ep.events).includes(type)) continue;
    const uid = `evt_${randomUUID().replaceAll('-', '')}`;
    const payload = JSON.stringify({
      id: uid,
      type,
      createdAt: new Date(now).toISOString(),
      projectId: e.projectId,
      data: { dialog: dialogDto(dialog), ...(message ? { message } : {}) },
    });
    const res = await db
      .insertInto('webhook_deliveries')
      .values({
        project_id: e.projectId,
        endpoint_id: Number(ep.id),
        uid,
        event_type: type,
        event_key: key,
        dialog_id: Number(dialog.id),
        payload,
        status: 'pending',
        attempts: 0,
        next_attempt_at: now,
        first_attempt_at: null,
        locked_until: null,
        locked_by: null,
        response_status: null,
        response_body_excerpt: null,
        error: null,
        created_at: now,
        delivered_at: null,
      })
      .onConflict((oc) => oc.columns(['project_id', 'endpoint_id', 'event_key']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (res) inserted++;
  }
  return inserted;
}

/**
 * Subscribes the producer to the bus. Events are handled one at a time, in the order published, so
 * that a dialog's delivery rows get ids in event order. `idle()` waits for the queue (tests, shutdown).
 */
export function startWebhookProducer(ctx: AppContext, onProduced?: () => void) {
  let chain: Promise<void> = Promise.resolve();
  const unsubscribe = ctx.bus.subscribe((e) => {
    chain = chain.then(() =>
      produceWebhookDeliveries(ctx, e)
        .then((n) => {
          if (n > 0) onProduced?.();
        })
        .catch((err) => ctx.log.error({ err, event: e.type }, 'webhook deliveries could not be produced')),
    );
  });
  return {
    stop: unsubscribe,
    idle: async () => {
      let seen: Promise<void>;
      do {
        seen = chain;
        await seen;
      } while (seen !== chain);
    },
  };
}
