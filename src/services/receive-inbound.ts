import type { QueryCreator, Selectable, Transaction, UpdateQueryBuilder, UpdateResult } from 'kysely';
import { sourceLabel } from '../core/attribution.js';
import { sortKey } from '../core/log-query.js';
import type { DomainEvent } from '../realtime/bus.js';
import { type ChannelRow, findChannelById, openCredentials } from '../store/channels.js';
import { addDialogManager } from '../store/dialogs.js';
import { isUniqueViolation } from '../store/errors.js';
import { groupTransaction } from '../store/group-commit.js';
import type { ChannelType, ClientIdentitiesTable, Database, MessageStatus, VisitsTable } from '../store/types.js';
import type { AppContext } from './context.js';
import { pickRoundRobin } from './distribution.js';
import { projectRules, serviceOfChannel } from './service-switches.js';
import { appendToOpenDialog } from './inbound-fast-path.js';
import { hasWebhookEndpoints, recordWebhookEvents, withWebhookEvents } from './webhooks.js';

/**
 * The one inbound pipeline for every platform (SPEC §4.1, §4.3, R7). Each platform's webhook
 * verifies and parses its payload into the normalised events below; this verb stores them: the
 * client and their identity on the channel, the identity's open dialog (or a new one once the last
 * was closed), the message, the dialog's denormalised fields and the event's outgoing webhook
 * deliveries, all in one transaction per event,
 * and the realtime events after the commit. Every event is idempotent on its platform id: a
 * redelivery is acknowledged and changes nothing.
 */

import type {
  InboundEvent,
  InboundMessageEvent,
  InboundReachableEvent,
  InboundReceiptEvent,
  InboundWatermarkEvent,
  InboundSender,
  InboundStartEvent,
  InboundUnreachableEvent,
} from '../core/inbound.js';

export type {
  InboundAttachment,
  InboundEvent,
  InboundMessageEvent,
  InboundReceiptEvent,
  InboundReachableEvent,
  InboundSender,
  InboundStartEvent,
  InboundUnreachableEvent,
  InboundWatermarkEvent,
} from '../core/inbound.js';

export interface InboundChannel {
  id: number;
  projectId: number;
  type: ChannelType | 'sms-http';
}

export type InboundOutcome =
  | { kind: InboundEvent['kind']; outcome: 'stored'; dialogId?: number; messageId?: number; dialogCreated?: boolean }
  | { kind: InboundEvent['kind']; outcome: 'duplicate' | 'ignored' };

/** A platform's client-side clock may be off, and retries arrive late: trust it within a week. */
const MAX_PLATFORM_DELAY_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Webhook channels as last read, per store, for a second: a flood of webhooks reads and decrypts
 * each channel once a second instead of once a request. A change on this node (bus event
 * `channel.changed`) drops the entry at once; one on another node shows within the second.
 */
const CHANNEL_TTL_MS = 1_000;
interface CachedChannel {
  at: number;
  found: WebhookChannel<unknown> | undefined;
  /** The id names a channel row at all (switched off or not). */
  exists: boolean;
}
const channelCache = new WeakMap<object, Map<number, CachedChannel>>();

interface WebhookChannel<T> {
  channel: InboundChannel;
  row: ChannelRow;
  credentials: T;
}

function cacheOf(ctx: AppContext) {
  let cache = channelCache.get(ctx.store);
  if (!cache) {
    const fresh = new Map<number, CachedChannel>();
    cache = fresh;
    channelCache.set(ctx.store, fresh);
    ctx.bus.subscribe((e) => {
      if (e.type === 'channel.changed') fresh.delete(e.channelId);
    });
  }
  return cache;
}

/**
 * A webhook's channel: enabled, of the platform the URL names, with its credentials opened.
 * Undefined for an unknown, removed (disabled) or other-platform channel.
 */
export async function findWebhookChannel<T = Record<string, unknown>>(
  ctx: AppContext,
  channelId: number,
  type: ChannelRow['type'],
): Promise<WebhookChannel<T> | undefined> {
  const cache = cacheOf(ctx);
  const now = Date.now();
  let hit = cache.get(channelId);
  if (!hit || now - hit.at > CHANNEL_TTL_MS) {
    const row = await findChannelById(ctx.store, channelId);
    const found =
      row && row.enabled === 1
        ? {
            channel: { id: row.id, projectId: row.project_id, type: row.type as InboundChannel['type'] },
            row,
            credentials: openCredentials<unknown>(ctx.config.secretKey, row),
          }
        : undefined;
    hit = { at: now, found, exists: row !== undefined };
    if (cache.size > 10_000) cache.clear();
    cache.set(channelId, hit);
  }
  const found = hit.found as WebhookChannel<T> | undefined;
  return found && found.row.type === type ? found : undefined;
}

/**
 * Whether a webhook's channel id names no channel at all, as its lookup (findWebhookChannel) just
 * saw: a guess, not a switched-off channel that a platform still delivers to.
 */
export function webhookChannelMissing(ctx: AppContext, channelId: number): boolean {
  const hit = cacheOf(ctx).get(channelId);
  return hit !== undefined && !hit.exists;
}

/** Stores the events in order, each in its own transaction; realtime events follow each commit. */
export async function receiveInbound(
  ctx: AppContext,
  channel: InboundChannel,
  events: readonly InboundEvent[],
): Promise<InboundOutcome[]> {
  const outcomes: InboundOutcome[] = [];
  // A switched-off service takes no client messages; receipts and reachability still count.
  const rules = events.some((e) => e.kind === 'message' || e.kind === 'start')
    ? await projectRules(ctx, channel.projectId)
    : undefined;
  const switchedOff = rules ? !rules.services[serviceOfChannel(channel.type)] : false;
  const roundRobin = rules?.distributionMode === 'round_robin';
  for (const ev of events) {
    if (switchedOff && (ev.kind === 'message' || ev.kind === 'start')) {
      ctx.log.warn({ channelId: channel.id, kind: ev.kind }, 'client message ignored: the service is switched off');
      outcomes.push({ kind: ev.kind, outcome: 'ignored' });
      continue;
    }
    const published: DomainEvent[] = [];
    outcomes.push(await receiveOne(ctx, channel, ev, published, roundRobin));
    for (const e of published) ctx.bus.publish(e);
  }
  return outcomes;
}

class Duplicate extends Error {}

/** When the platform says the client sent it, trusted within MAX_PLATFORM_DELAY_MS (and now if absent). */
function platformTime(ev: { sentAt?: number }, now: number): number {
  return ev.sentAt !== undefined && Number.isFinite(ev.sentAt) ? Math.max(ev.sentAt, now - MAX_PLATFORM_DELAY_MS) : now;
}

async function receiveOne(
  ctx: AppContext,
  channel: InboundChannel,
  ev: InboundEvent,
  published: DomainEvent[],
  roundRobin: boolean,
): Promise<InboundOutcome> {
  switch (ev.kind) {
    case 'receipt':
      return receipt(ctx, channel, ev, published);
    case 'watermark':
      return watermark(ctx, channel, ev, published);
    default:
      break;
  }
  // PostgreSQL, a known client writing into their open dialog: one statement (inbound-fast-path.ts).
  if (
    ev.kind === 'message' &&
    ctx.store.dialect === 'postgres' &&
    !(await hasWebhookEndpoints(ctx, channel.projectId))
  ) {
    const now = ctx.clock();
    const fast = await appendToOpenDialog(ctx, channel, ev, { now, platformAt: platformTime(ev, now), roundRobin });
    if (fast) {
      published.push(...fast.events);
      return fast.outcome === 'duplicate'
        ? { kind: ev.kind, outcome: 'duplicate' }
        : {
            kind: ev.kind,
            outcome: 'stored',
            dialogId: fast.dialogId,
            messageId: fast.messageId,
            dialogCreated: fast.dialogCreated ?? false,
          };
    }
  }
  // Two first messages of a new client racing (PostgreSQL) can still collide on a unique key the
  // lock could not cover yet; the second attempt sees the winner's rows and acts on them.
  for (let attempt = 1; ; attempt++) {
    const pending: DomainEvent[] = [];
    try {
      // SQLite: shared with the events of other webhooks arriving meanwhile (store/group-commit.ts).
      const outcome = await groupTransaction(ctx.store, async (trx) => {
        const o =
          ev.kind === 'message' || ev.kind === 'start'
            ? await conversationEvent(ctx, trx, channel, ev, pending, roundRobin)
            : await reachability(ctx, trx, channel, ev, pending);
        // The webhooks commit with the change (docs/WEBHOOKS.md); nothing without endpoints.
        await recordWebhookEvents(trx, ctx, pending);
        return o;
      });
      published.push(...pending);
      return outcome;
    } catch (err) {
      if (err instanceof Duplicate) return { kind: ev.kind, outcome: 'duplicate' };
      if (isUniqueViolation(err) && attempt < 3) continue;
      throw err;
    }
  }
}

type Trx = Transaction<Database>;
type IdentityRow = Selectable<ClientIdentitiesTable>;

async function conversationEvent(
  ctx: AppContext,
  trx: Trx,
  channel: InboundChannel,
  ev: InboundMessageEvent | InboundStartEvent,
  published: DomainEvent[],
  roundRobin: boolean,
): Promise<InboundOutcome> {
  const pg = ctx.store.dialect === 'postgres';
  const now = ctx.clock();
  const projectId = channel.projectId;

  // The identity row is the per-client lock: deliveries of one client serialise on it, so the
  // duplicate check below and the one-open-dialog rule hold under concurrency.
  const { identity, created: newIdentity, client: clientNow } = await lockIdentity(trx, pg, channel, ev, now);

  // A redelivered message is caught by the unique key when it is inserted below (the transaction
  // then rolls back): one statement fewer for every message that is not a duplicate.
  if (ev.kind === 'start' && !(await claimEvent(trx, channel, ev.eventId, now))) {
    throw new Duplicate();
  }

  const client = await refreshClient(trx, identity, newIdentity, clientNow, ev, now);
  const name = client.name;
  const phone = client.phone;
  const handle = identity.handle;
  const authorName = name || phone || handle || '';
  const searchText = [name, phone, handle].filter(Boolean).join(' ').toLowerCase();

  // Only what this verb reads: a dialog row has ~50 columns, and parsing them was measurable.
  let openQuery = trx
    .selectFrom('dialogs')
    .select([
      'id',
      'created_at',
      'last_message_at',
      'visit_id',
      'client_name',
      'client_phone',
      'client_handle',
      'manager_id',
    ])
    .where('project_id', '=', projectId)
    .where('identity_id', '=', identity.id)
    .where('channel_id', '=', channel.id)
    .where('status', 'in', ['new', 'open'])
    .orderBy('id', 'desc')
    .limit(1);
  if (pg) openQuery = openQuery.forUpdate();
  const open = await openQuery.executeTakeFirst();

  // First touch wins: a visit attaches only to a dialog that has none yet.
  const visit =
    ev.deepLinkToken && (!open || open.visit_id === null)
      ? await findVisit(trx, projectId, ev.deepLinkToken, now)
      : undefined;
  const attribution = visit ? attributionOf(visit) : undefined;

  // The client's own time, kept within [the dialog's start or last message, now] so that the
  // timeline and the denormalised "last" fields stay monotonic.
  const platformAt = platformTime(ev, now);
  const floor = open ? Math.max(open.created_at, open.last_message_at ?? 0) : 0;
  const at = Math.max(floor, Math.min(now, platformAt));
  const isMessage = ev.kind === 'message';

  // Round-robin (services/distribution.ts): a new dialog, or one still waiting for a manager when
  // the client writes again, goes to the online manager who waited longest.
  const assignee =
    roundRobin && (!open || (isMessage && open.manager_id === null))
      ? await pickRoundRobin(trx, pg, projectId, now)
      : undefined;
  const assignment = assignee
    ? {
        status: 'open' as const,
        manager_id: assignee.id,
        manager_name: assignee.name,
        manager_sort: sortKey(assignee.name),
      }
    : undefined;

  let dialogId: number;
  let dialogCreated = false;
  let dialogUpdated = false;
  let deferredUpdate: UpdateQueryBuilder<Database, 'dialogs', 'dialogs', UpdateResult> | undefined;
  if (!open) {
    const channelType: ChannelType = channel.type === 'sms-http' ? 'sms' : channel.type;
    const row = await trx
      .insertInto('dialogs')
      .values({
        project_id: projectId,
        channel_id: channel.id,
        channel_type: channelType,
        number_id: ev.kind === 'message' ? (ev.numberId ?? null) : null,
        outbound_only: 0,
        client_id: identity.client_id,
        identity_id: identity.id,
        client_name: name,
        client_phone: phone,
        client_handle: handle,
        client_external_id: identity.external_id,
        search_text: searchText,
        status: 'new',
        manager_id: null,
        manager_name: null,
        manager_sort: sortKey(null),
        created_at: at,
        updated_at: now,
        closed_at: null,
        closed_by: null,
        closed_by_name: null,
        close_reason: null,
        last_message_at: isMessage ? at : null,
        last_direction: isMessage ? 'in' : null,
        last_author_type: isMessage ? 'client' : null,
        last_author_id: null,
        last_author_name: isMessage ? authorName : null,
        last_responder_type: isMessage ? 'client' : null,
        last_responder_id: null,
        last_responder_name: isMessage ? authorName : null,
        first_message_at: isMessage ? at : null,
        first_response_at: null,
        first_response_seconds: null,
        messages_in: isMessage ? 1 : 0,
        messages_out: 0,
        unread_count: isMessage ? 1 : 0,
        visit_id: null,
        source: null,
        channel_group: null,
        utm_source: null,
        utm_medium: null,
        utm_campaign: null,
        utm_term: null,
        utm_content: null,
        referrer: null,
        landing_url: null,
        click_ids: null,
        ...attribution,
        ...assignment,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    dialogId = row.id;
    dialogCreated = true;
  } else {
    dialogId = open.id;
    const clientChanged = open.client_name !== name || open.client_phone !== phone || open.client_handle !== handle;
    if (isMessage || attribution || clientChanged || assignment) {
      dialogUpdated = true;
      const update = trx
        .updateTable('dialogs')
        .set((eb) => ({
          client_name: name,
          client_phone: phone,
          client_handle: handle,
          search_text: searchText,
          updated_at: now,
          ...attribution,
          ...assignment,
          ...(isMessage
            ? {
                last_message_at: at,
                last_direction: 'in' as const,
                last_author_type: 'client' as const,
                last_author_id: null,
                last_author_name: authorName,
                last_responder_type: 'client' as const,
                last_responder_id: null,
                last_responder_name: authorName,
                first_message_at: eb.fn.coalesce('first_message_at', eb.val(at)),
                messages_in: eb('messages_in', '+', 1),
                unread_count: eb('unread_count', '+', 1),
              }
            : {}),
        }))
        .where('project_id', '=', projectId)
        .where('id', '=', open.id);
      // PostgreSQL: a message's dialog update rides along with the message's INSERT (a data-modifying
      // WITH runs once, whatever the main statement reads): one round trip fewer per message.
      if (pg && ev.kind === 'message') deferredUpdate = update;
      else await update.execute();
    }
  }

  if (assignee) {
    await addDialogManager(trx, { project_id: projectId, dialog_id: dialogId, user_id: assignee.id, assigned_at: now });
  }

  let messageId: number | undefined;
  if (ev.kind === 'message') {
    const update = deferredUpdate;
    const db: QueryCreator<Database> = update ? (trx.with('dialog_update', () => update) as never) : trx;
    const row = await db
      .insertInto('messages')
      .values({
        project_id: projectId,
        dialog_id: dialogId,
        channel_id: channel.id,
        direction: 'in',
        author_type: 'client',
        author_id: null,
        author_name: authorName,
        text: ev.text,
        attachments: ev.attachments && ev.attachments.length > 0 ? JSON.stringify(ev.attachments) : null,
        created_at: at,
        status: 'received',
        failure_reason: null,
        platform_message_id: ev.platformMessageId,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['project_id', 'channel_id', 'platform_message_id']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!row) throw new Duplicate();
    messageId = row.id;
  }

  if (dialogCreated) published.push({ type: 'dialog.created', projectId, dialogId });
  else if (dialogUpdated) published.push({ type: 'dialog.updated', projectId, dialogId });
  if (messageId !== undefined) published.push({ type: 'message.created', projectId, dialogId, messageId });
  return { kind: ev.kind, outcome: 'stored', dialogId, messageId, dialogCreated };
}

/** The identity row, locked for this transaction (PostgreSQL), created with its client if new. */
async function lockIdentity(
  trx: Trx,
  pg: boolean,
  channel: InboundChannel,
  sender: InboundSender,
  now: number,
): Promise<{ identity: IdentityRow; created: boolean; client: ClientNow }> {
  // The identity with its client's name and phone, in one statement (the identity row is the lock).
  const find = async () => {
    let q = trx
      .selectFrom('client_identities')
      .innerJoin('clients', (j) =>
        j
          .onRef('clients.project_id', '=', 'client_identities.project_id')
          .onRef('clients.id', '=', 'client_identities.client_id'),
      )
      .selectAll('client_identities')
      .select(['clients.name as client_name', 'clients.phone as client_phone'])
      .where('client_identities.project_id', '=', channel.projectId)
      .where('client_identities.channel_id', '=', channel.id)
      .where('client_identities.external_id', '=', sender.externalUserId);
    if (pg) q = q.forUpdate('client_identities');
    const row = await q.executeTakeFirst();
    if (!row) return undefined;
    const { client_name, client_phone, ...identity } = row;
    return { identity: identity as IdentityRow, created: false, client: { name: client_name, phone: client_phone } };
  };
  const existing = await find();
  if (existing) return existing;

  const name = sender.displayName ?? sender.externalUserId;
  const client = await trx
    .insertInto('clients')
    .values({ project_id: channel.projectId, name, phone: sender.phone ?? null, created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  // ON CONFLICT DO NOTHING waits for a concurrent insert of the same identity to commit and then
  // yields to it, instead of aborting this transaction.
  const inserted = await trx
    .insertInto('client_identities')
    .values({
      project_id: channel.projectId,
      client_id: client.id,
      channel_id: channel.id,
      channel_type: channel.type,
      external_id: sender.externalUserId,
      display_name: name,
      handle: sender.handle ?? null,
      created_at: now,
    })
    .onConflict((oc) => oc.columns(['project_id', 'channel_id', 'external_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { identity: inserted, created: true, client: { name, phone: sender.phone ?? null } };
  await trx.deleteFrom('clients').where('project_id', '=', channel.projectId).where('id', '=', client.id).execute();
  const winner = await find();
  if (!winner) throw new Error(`identity ${sender.externalUserId} on channel ${channel.id} vanished`);
  return winner;
}

interface ClientNow {
  name: string;
  phone: string | null;
}

/**
 * Brings the identity and client up to date with what the platform says now (a renamed Telegram
 * user, a new @username) and answers the client's current name and phone. A client name that
 * differs from the identity's old display name was set by someone on purpose and is kept.
 */
async function refreshClient(
  trx: Trx,
  identity: IdentityRow,
  newIdentity: boolean,
  client: ClientNow,
  sender: InboundSender,
  now: number,
): Promise<ClientNow> {
  if (newIdentity) return client;

  const displayName = sender.displayName ?? identity.display_name;
  const handle = sender.handle ?? identity.handle;
  if (displayName !== identity.display_name || handle !== identity.handle) {
    await trx
      .updateTable('client_identities')
      .set({ display_name: displayName, handle })
      .where('project_id', '=', identity.project_id)
      .where('id', '=', identity.id)
      .execute();
    identity.handle = handle;
  }
  const name = client.name === identity.display_name ? displayName : client.name;
  const phone = client.phone ?? sender.phone ?? null;
  if (name !== client.name || phone !== client.phone) {
    await trx
      .updateTable('clients')
      .set({ name, phone, updated_at: now })
      .where('project_id', '=', identity.project_id)
      .where('id', '=', identity.client_id)
      .execute();
  }
  identity.display_name = displayName;
  return { name, phone };
}

/** Records a platform event id; false when it was already handled. */
async function claimEvent(trx: Trx, channel: InboundChannel, eventId: string, now: number): Promise<boolean> {
  const row = await trx
    .insertInto('inbound_events')
    .values({ project_id: channel.projectId, channel_id: channel.id, platform_event_id: eventId, received_at: now })
    .onConflict((oc) => oc.columns(['project_id', 'channel_id', 'platform_event_id']).doNothing())
    .returning('platform_event_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** The widget visit a deep link names: same project, not expired; otherwise none. */
async function findVisit(
  trx: Trx,
  projectId: number,
  token: string,
  now: number,
): Promise<Selectable<VisitsTable> | undefined> {
  if (token.length > 200) return undefined;
  return trx
    .selectFrom('visits')
    .selectAll()
    .where('project_id', '=', projectId)
    .where('token', '=', token)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

function attributionOf(v: Selectable<VisitsTable>) {
  return {
    visit_id: v.id,
    source: sourceLabel({ utmSource: v.utm_source, referrer: v.referrer }),
    channel_group: v.channel_group,
    utm_source: v.utm_source,
    utm_medium: v.utm_medium,
    utm_campaign: v.utm_campaign,
    utm_term: v.utm_term,
    utm_content: v.utm_content,
    referrer: v.referrer,
    landing_url: v.landing_url,
    click_ids: v.click_ids,
  };
}

async function reachability(
  ctx: AppContext,
  trx: Trx,
  channel: InboundChannel,
  ev: InboundUnreachableEvent | InboundReachableEvent,
  published: DomainEvent[],
): Promise<InboundOutcome> {
  if (ev.eventId !== undefined && !(await claimEvent(trx, channel, ev.eventId, ctx.clock()))) {
    throw new Duplicate();
  }
  const unreachable = ev.kind === 'unreachable';
  const res = await trx
    .updateTable('client_identities')
    .set({ unreachable: unreachable ? 1 : 0, unreachable_reason: unreachable ? ev.reason : null })
    .where('project_id', '=', channel.projectId)
    .where('channel_id', '=', channel.id)
    .where('external_id', '=', ev.externalUserId)
    .returning('id')
    .executeTakeFirst();
  // Someone we never talked to: nothing to mark.
  if (!res) return { kind: ev.kind, outcome: 'ignored' };
  // The workspace shows whether the client can still be answered: refresh the open dialog.
  const open = await trx
    .selectFrom('dialogs')
    .select('id')
    .where('project_id', '=', channel.projectId)
    .where('identity_id', '=', res.id)
    .where('status', 'in', ['new', 'open'])
    .execute();
  for (const d of open) {
    await trx
      .updateTable('dialogs')
      .set({ updated_at: ctx.clock() })
      .where('project_id', '=', channel.projectId)
      .where('id', '=', d.id)
      .execute();
    published.push({ type: 'dialog.updated', projectId: channel.projectId, dialogId: d.id });
  }
  return { kind: ev.kind, outcome: 'stored' };
}

/** From which statuses a report may move a message: forward only; failed only before delivery. */
const MOVES_FROM: Record<InboundReceiptEvent['status'], MessageStatus[]> = {
  delivered: ['queued', 'sent'],
  read: ['queued', 'sent', 'delivered'],
  failed: ['queued', 'sent'],
};

async function receipt(
  ctx: AppContext,
  channel: InboundChannel,
  ev: InboundReceiptEvent,
  published: DomainEvent[],
): Promise<InboundOutcome> {
  const part = await receiptForPart(ctx, channel, ev, published);
  if (part) return part;
  // One statement; a transaction only to commit the webhooks with it when the project has any.
  const rows = await withWebhookEvents(ctx, channel.projectId, published, async (db, events) => {
    const rows = await db
      .updateTable('messages')
      .set({
        status: ev.status,
        ...(ev.status === 'failed' ? { failure_reason: ev.failureReason?.slice(0, 500) ?? 'failed' } : {}),
        updated_at: ctx.clock(),
      })
      .where('project_id', '=', channel.projectId)
      .where('channel_id', '=', channel.id)
      .where('platform_message_id', '=', ev.platformMessageId)
      .where('direction', '=', 'out')
      .where('status', 'in', MOVES_FROM[ev.status])
      .returning(['id', 'dialog_id'])
      .execute();
    for (const r of rows) {
      events.push({ type: 'message.status', projectId: channel.projectId, dialogId: r.dialog_id, messageId: r.id });
    }
    return rows;
  });
  // Unknown message or already further along: acknowledged, nothing changes.
  return { kind: 'receipt', outcome: rows.length > 0 ? 'stored' : 'ignored' };
}

/**
 * A receipt for one part of a long SMS (SPEC §7: "a long message is delivered when all its parts
 * are, failed when any part fails"). Undefined when the id is not a part: a whole message.
 */
async function receiptForPart(
  ctx: AppContext,
  channel: InboundChannel,
  ev: InboundReceiptEvent,
  published: DomainEvent[],
): Promise<InboundOutcome | undefined> {
  if (ev.status === 'read') return undefined;
  return ctx.store.db.transaction().execute(async (trx) => {
    const part = await trx
      .updateTable('message_parts')
      .set({
        status: ev.status as 'delivered' | 'failed',
        failure_reason: ev.status === 'failed' ? (ev.failureReason?.slice(0, 500) ?? 'failed') : null,
      })
      .where('project_id', '=', channel.projectId)
      .where('channel_id', '=', channel.id)
      .where('platform_message_id', '=', ev.platformMessageId)
      .where('status', '=', 'sent')
      .returning('message_id')
      .executeTakeFirst();
    if (!part) {
      const known = await trx
        .selectFrom('message_parts')
        .select('message_id')
        .where('project_id', '=', channel.projectId)
        .where('channel_id', '=', channel.id)
        .where('platform_message_id', '=', ev.platformMessageId)
        .executeTakeFirst();
      return known ? { kind: 'receipt' as const, outcome: 'ignored' as const } : undefined;
    }
    const parts = await trx
      .selectFrom('message_parts')
      .select(['status', 'failure_reason'])
      .where('project_id', '=', channel.projectId)
      .where('message_id', '=', part.message_id)
      .execute();
    const failed = parts.find((p) => p.status === 'failed');
    const status = failed ? 'failed' : parts.every((p) => p.status === 'delivered') ? 'delivered' : undefined;
    if (!status) return { kind: 'receipt' as const, outcome: 'stored' as const };
    const rows = await trx
      .updateTable('messages')
      .set({
        status,
        ...(failed ? { failure_reason: failed.failure_reason ?? 'failed' } : {}),
        updated_at: ctx.clock(),
      })
      .where('project_id', '=', channel.projectId)
      .where('id', '=', part.message_id)
      .where('status', 'in', MOVES_FROM[status])
      .returning(['id', 'dialog_id'])
      .execute();
    const events: DomainEvent[] = rows.map((r) => ({
      type: 'message.status',
      projectId: channel.projectId,
      dialogId: r.dialog_id,
      messageId: r.id,
    }));
    await recordWebhookEvents(trx, ctx, events);
    published.push(...events);
    return { kind: 'receipt' as const, outcome: 'stored' as const };
  });
}

async function watermark(
  ctx: AppContext,
  channel: InboundChannel,
  ev: InboundWatermarkEvent,
  published: DomainEvent[],
): Promise<InboundOutcome> {
  const identity = await ctx.store.db
    .selectFrom('client_identities')
    .select('id')
    .where('project_id', '=', channel.projectId)
    .where('channel_id', '=', channel.id)
    .where('external_id', '=', ev.externalUserId)
    .executeTakeFirst();
  if (!identity) return { kind: 'watermark', outcome: 'ignored' };
  const rows = await withWebhookEvents(ctx, channel.projectId, published, async (db, events) => {
    const rows = await db
      .updateTable('messages')
      .set({ status: ev.status, updated_at: ctx.clock() })
      .where('project_id', '=', channel.projectId)
      .where('channel_id', '=', channel.id)
      .where('direction', '=', 'out')
      // Only what reached the platform (it answered with an id) can have been delivered or read.
      .where('platform_message_id', 'is not', null)
      .where('status', 'in', ev.status === 'read' ? ['sent', 'delivered'] : ['sent'])
      .where('created_at', '<=', ev.watermark)
      .where('dialog_id', 'in', (eb) =>
        eb
          .selectFrom('dialogs')
          .select('id')
          .where('project_id', '=', channel.projectId)
          .where('identity_id', '=', identity.id),
      )
      .returning(['id', 'dialog_id'])
      .execute();
    for (const r of rows) {
      events.push({ type: 'message.status', projectId: channel.projectId, dialogId: r.dialog_id, messageId: r.id });
    }
    return rows;
  });
  return { kind: 'watermark', outcome: rows.length > 0 ? 'stored' : 'ignored' };
}
