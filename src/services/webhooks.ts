import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { NotFoundError } from '../core/errors.js';
import { open, seal } from '../core/secret-box.js';
import type { DomainEvent } from '../realtime/bus.js';
import type {
  Database,
  DialogsTable,
  MessagesTable,
  WebhookDeliveriesTable,
  WebhookEndpointsTable,
} from '../store/types.js';
import type { Insertable, Kysely, Selectable } from 'kysely';
import { audit } from './audit.js';
import type { AppContext, ProjectContext } from './context.js';
import { dialogDto, messageDto } from './dto.js';

/**
 * Outgoing webhooks (issue 7 §2, SPEC §4.9, docs/WEBHOOKS.md): endpoints an admin manages, and
 * `recordWebhookEvents`, which the services call inside the transaction of a change to write its
 * delivery rows. The WebhookWorker (webhook-worker.ts) sends them.
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
  endpointsChanged(ctx, ctx.project.id);
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
  endpointsChanged(ctx, ctx.project.id);
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
  endpointsChanged(ctx, ctx.project.id);
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
// Producing: in the transaction of the change (a transactional outbox)

/**
 * A project's enabled, unpaused endpoints as last read, per store, for a second: every transaction
 * that publishes a domain event asks, and a project without endpoints must cost nothing more than a
 * map lookup. A change on this node drops the entry at once (`endpointsChanged`); other nodes drop
 * theirs when the bus event `webhook.changed` reaches them, and at the latest when the second is up.
 */
const ENDPOINTS_TTL_MS = 1_000;
interface ActiveEndpoint {
  id: number;
  events: readonly WebhookEvent[];
}
interface EndpointCache {
  entries: Map<number, { at: number; endpoints: ActiveEndpoint[] }>;
  /** Bumped by every invalidation: a read that started before one must not be cached after it. */
  version: number;
}
const endpointCaches = new WeakMap<object, EndpointCache>();
const subscribedBuses = new WeakSet<object>();

function endpointCacheOf(ctx: AppContext): EndpointCache {
  let cache = endpointCaches.get(ctx.store);
  if (!cache) {
    cache = { entries: new Map(), version: 0 };
    endpointCaches.set(ctx.store, cache);
  }
  if (!subscribedBuses.has(ctx.bus)) {
    subscribedBuses.add(ctx.bus);
    const c = cache;
    ctx.bus.subscribe((e) => {
      if (e.type === 'webhook.changed') drop(c, e.projectId);
      else if (e.type === 'bus.resync') drop(c);
    });
  }
  return cache;
}

function drop(cache: EndpointCache, projectId?: number) {
  cache.version++;
  if (projectId === undefined) cache.entries.clear();
  else cache.entries.delete(projectId);
}

/** After a commit that changed a project's endpoints: this node at once, the others through the bus. */
export function endpointsChanged(ctx: AppContext, projectId: number) {
  drop(endpointCacheOf(ctx), projectId);
  ctx.bus.publish({ type: 'webhook.changed', projectId });
}

async function activeEndpoints(ctx: AppContext, db: Kysely<Database>, projectId: number): Promise<ActiveEndpoint[]> {
  const cache = endpointCacheOf(ctx);
  // Wall time, not ctx.clock: the TTL is about this process, and tests move their clock by hours.
  const now = Date.now();
  const hit = cache.entries.get(projectId);
  if (hit && now - hit.at <= ENDPOINTS_TTL_MS) return hit.endpoints;
  const version = cache.version;
  const rows = await db
    .selectFrom('webhook_endpoints')
    .select(['id', 'events'])
    .where('project_id', '=', projectId)
    .where('enabled', '=', 1)
    .where('paused_at', 'is', null)
    .orderBy('id')
    .execute();
  const endpoints = rows.map((r) => ({ id: Number(r.id), events: parseEvents(r.events) }));
  if (cache.version === version) {
    if (cache.entries.size > 10_000) cache.entries.clear();
    cache.entries.set(projectId, { at: now, endpoints });
  }
  return endpoints;
}

type DeliveryInsert = Insertable<WebhookDeliveriesTable>;
/** Rows per INSERT and ids per IN (…): far below both stores' bound-parameter limits. */
const CHUNK = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** The webhook event a domain event can become: a created dialog opens, an updated one may be closed. */
function candidateOf(e: DomainEvent): WebhookEvent | undefined {
  switch (e.type) {
    case 'dialog.created':
      return 'dialog.opened';
    case 'dialog.updated':
      return 'dialog.closed';
    case 'message.created':
    case 'message.status':
      return e.type;
    default:
      return undefined;
  }
}

/**
 * Writes the webhook deliveries of `events` (the domain events a transaction is about to publish) in
 * that transaction, one row per subscribed endpoint: the change and its webhooks commit or roll back
 * together, so no event is lost to a node dying after the commit. Call it last in the transaction,
 * with `trx`, so the rows read here are the ones being committed. A dialog's rows get ids in event
 * order (the worker delivers each (endpoint, dialog) queue in id order).
 *
 * A project without endpoints costs no statement (its endpoint list is cached, and re-read at
 * most once a second); with them, one read of the events' dialogs, one of their messages and one INSERT. The unique
 * `event_key` per endpoint keeps an event from being queued twice (a `dialog.updated` of a dialog
 * closed earlier, a status that did not move). When rows were written, `{ type: 'webhook.pending' }`
 * is appended to `events`, so publishing them after the commit wakes the WebhookWorkers.
 * Answers how many rows were inserted.
 */
export async function recordWebhookEvents(
  db: Kysely<Database>,
  ctx: AppContext,
  events: DomainEvent[],
): Promise<number> {
  const projects = new Set<number>();
  for (const e of events) if (candidateOf(e) && 'projectId' in e) projects.add(e.projectId);
  let inserted = 0;
  for (const projectId of projects) {
    const n = await recordForProject(db, ctx, projectId, events);
    if (n > 0) events.push({ type: 'webhook.pending', projectId });
    inserted += n;
  }
  return inserted;
}

async function recordForProject(
  db: Kysely<Database>,
  ctx: AppContext,
  projectId: number,
  events: readonly DomainEvent[],
): Promise<number> {
  const endpoints = await activeEndpoints(ctx, db, projectId);
  if (endpoints.length === 0) return 0;
  const wanted = new Set(endpoints.flatMap((ep) => ep.events));
  const relevant = events.filter(
    (e): e is Extract<DomainEvent, { dialogId: number }> =>
      'dialogId' in e && e.projectId === projectId && wanted.has(candidateOf(e)!),
  );
  if (relevant.length === 0) return 0;

  const dialogs = new Map<number, Selectable<DialogsTable>>();
  for (const ids of chunks([...new Set(relevant.map((e) => e.dialogId))])) {
    const rows = await db
      .selectFrom('dialogs')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', 'in', ids)
      .execute();
    for (const r of rows) dialogs.set(Number(r.id), r);
  }
  const messageIds = relevant.flatMap((e) => ('messageId' in e ? [e.messageId] : []));
  const messages = new Map<number, Selectable<MessagesTable>>();
  for (const ids of chunks([...new Set(messageIds)])) {
    const rows = await db
      .selectFrom('messages')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', 'in', ids)
      .execute();
    for (const r of rows) messages.set(Number(r.id), r);
  }

  const now = ctx.clock();
  const createdAt = new Date(now).toISOString();
  const rows: DeliveryInsert[] = [];
  const seen = new Set<string>();
  for (const e of relevant) {
    const dialog = dialogs.get(e.dialogId);
    if (!dialog) continue;
    let type: WebhookEvent;
    let key: string;
    let message: ReturnType<typeof messageDto> | undefined;
    if (e.type === 'dialog.created') {
      type = 'dialog.opened';
      key = `dialog.opened:${e.dialogId}`;
    } else if (e.type === 'dialog.updated') {
      // Only a close is an event; one per (dialog, closed_at), however many updates follow it.
      if (dialog.status !== 'closed' || dialog.closed_at === null) continue;
      type = 'dialog.closed';
      key = `dialog.closed:${e.dialogId}:${dialog.closed_at}`;
    } else if ('messageId' in e) {
      const m = messages.get(e.messageId);
      if (!m) continue;
      message = messageDto(m);
      type = e.type;
      key =
        e.type === 'message.created' ? `message.created:${e.messageId}` : `message.status:${e.messageId}:${m.status}`;
    } else continue;
    for (const ep of endpoints) {
      if (!ep.events.includes(type) || seen.has(`${ep.id} ${key}`)) continue;
      seen.add(`${ep.id} ${key}`);
      const uid = `evt_${randomUUID().replaceAll('-', '')}`;
      const payload = JSON.stringify({
        id: uid,
        type,
        createdAt,
        projectId,
        data: { dialog: dialogDto(dialog), ...(message ? { message } : {}) },
      });
      rows.push({
        project_id: projectId,
        endpoint_id: ep.id,
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
      });
    }
  }
  let inserted = 0;
  // One multi-row INSERT: both stores assign the ids in the order of the rows, i.e. event order.
  for (const part of chunks(rows)) {
    const res = await db
      .insertInto('webhook_deliveries')
      .values(part)
      .onConflict((oc) => oc.columns(['project_id', 'endpoint_id', 'event_key']).doNothing())
      .returning('id')
      .execute();
    inserted += res.length;
  }
  return inserted;
}

/** Whether the project has enabled, unpaused endpoints (cached: the store is read at most once a second). */
export async function hasWebhookEndpoints(ctx: AppContext, projectId: number): Promise<boolean> {
  return (await activeEndpoints(ctx, ctx.store.db, projectId)).length > 0;
}

/**
 * For a change that is one statement and needs no transaction of its own (a delivery receipt,
 * auto-close): without endpoints in the project, `fn` runs on the store as before; with them, in a
 * transaction that also records the webhook deliveries of the events `fn` collects. Either way the
 * events end up in `published`, to be published after the commit.
 */
export async function withWebhookEvents<T>(
  ctx: AppContext,
  projectId: number,
  published: DomainEvent[],
  fn: (db: Kysely<Database>, events: DomainEvent[]) => Promise<T>,
): Promise<T> {
  if (!(await hasWebhookEndpoints(ctx, projectId))) return fn(ctx.store.db, published);
  const events: DomainEvent[] = [];
  const result = await ctx.store.db.transaction().execute(async (trx) => {
    const r = await fn(trx, events);
    await recordWebhookEvents(trx, ctx, events);
    return r;
  });
  published.push(...events);
  return result;
}
