import { sortKey } from '../core/log-query.js';
import { sealCredentials } from '../store/channels.js';
import type { Store } from '../store/open.js';
import { TEST_SECRET } from './harness.js';
import type { AttributionColumns, AuthorType, ChannelType, DialogStatus, MessageStatus } from '../store/types.js';

/**
 * Test fixtures that write dialogs straight into the store, with the denormalised fields computed
 * from the messages the way the product's own writers keep them (SPEC §4.3): last message time,
 * direction and author, who answered last, first response, counts. Inconsistent input (an `open`
 * dialog without a manager, a `new` one with one) is refused rather than stored.
 */

let seq = 0;

export interface FixtureMessage {
  direction: 'in' | 'out';
  text: string;
  at: number;
  /** Default: `client` for inbound, `manager` for outbound. */
  authorType?: AuthorType;
  /** Default: the dialog's manager for `manager` messages, none otherwise. */
  authorId?: number | null;
  status?: MessageStatus;
}

export interface DialogFixture {
  projectId: number;
  /** An existing channel; when absent, a channel of `channelType` is created. */
  channelId?: number;
  channelType?: ChannelType;
  status: DialogStatus;
  managerId?: number | null;
  /** Users responsible before the current manager (a transfer history), oldest first. */
  previousManagerIds?: number[];
  createdAt: number;
  clientName: string;
  /** Another dialog of the same client on the same channel (a client writing again after closing). */
  sameClientAs?: InsertedDialog;
  clientPhone?: string | null;
  clientHandle?: string | null;
  outboundOnly?: boolean;
  closedAt?: number;
  /** Default: the manager (a dialog closed without a manager has no closer). */
  closedBy?: number | null;
  closeReason?: string | null;
  messages?: FixtureMessage[];
  /** Attribution of the visit; `source` is the log's source label. */
  attribution?: Partial<AttributionColumns> & { source?: string | null };
}

export interface InsertedDialog {
  id: number;
  channelId: number;
  clientId: number;
  identityId: number;
  messageIds: number[];
}

export async function createChannel(store: Store, projectId: number, type: ChannelType | 'sms-http' = 'telegram') {
  const now = Date.now();
  const row = await store.db
    .insertInto('channels')
    .values({ project_id: projectId, type, name: `${type} ${++seq}`, created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function userName(store: Store, id: number | null | undefined): Promise<string | null> {
  if (id === null || id === undefined) return null;
  const u = await store.db.selectFrom('users').select('name').where('id', '=', id).executeTakeFirst();
  if (!u) throw new Error(`fixture: user ${id} does not exist`);
  return u.name;
}

export async function insertDialog(store: Store, f: DialogFixture): Promise<InsertedDialog> {
  const managerId = f.managerId ?? null;
  if (f.status === 'new' && managerId !== null) throw new Error('fixture: a new dialog has no manager');
  if (f.status === 'open' && managerId === null) throw new Error('fixture: an open dialog needs a manager');

  if (f.sameClientAs && f.channelId !== undefined && f.channelId !== f.sameClientAs.channelId) {
    throw new Error('fixture: sameClientAs fixes the channel');
  }
  let channelId = f.channelId ?? f.sameClientAs?.channelId;
  let channelType: ChannelType = f.channelType ?? 'telegram';
  if (channelId === undefined) {
    channelId = await createChannel(store, f.projectId, channelType);
  } else {
    const ch = await store.db
      .selectFrom('channels')
      .select('type')
      .where('project_id', '=', f.projectId)
      .where('id', '=', channelId)
      .executeTakeFirst();
    if (!ch) throw new Error(`fixture: channel ${channelId} is not in project ${f.projectId}`);
    channelType = ch.type === 'sms-http' ? 'sms' : (ch.type as ChannelType);
  }

  const managerName = await userName(store, managerId);
  const messages = [...(f.messages ?? [])].sort((a, b) => a.at - b.at);
  const authorOf = (m: FixtureMessage) => {
    const type: AuthorType = m.authorType ?? (m.direction === 'in' ? 'client' : 'manager');
    const id = m.authorId !== undefined ? m.authorId : type === 'manager' ? managerId : null;
    return { type, id };
  };
  const names = new Map<number, string | null>();
  for (const m of messages) {
    const a = authorOf(m);
    if (a.type === 'manager' && a.id !== null && !names.has(a.id)) names.set(a.id, await userName(store, a.id));
  }
  const authorName = (m: FixtureMessage) => {
    const a = authorOf(m);
    if (a.type === 'client') return f.clientName;
    if (a.type === 'manager') return a.id === null ? null : (names.get(a.id) ?? null);
    return a.type === 'auto' ? 'Auto-reply' : 'System';
  };

  const now = f.createdAt;
  let client = f.sameClientAs ? { id: f.sameClientAs.clientId } : undefined;
  let identity = f.sameClientAs ? { id: f.sameClientAs.identityId } : undefined;
  let externalId: string | null = null;
  if (identity) {
    const row = await store.db
      .selectFrom('client_identities')
      .select('external_id')
      .where('project_id', '=', f.projectId)
      .where('id', '=', identity.id)
      .executeTakeFirst();
    externalId = row?.external_id ?? null;
  }
  if (!client || !identity) {
    externalId = channelType === 'sms' && f.clientPhone ? f.clientPhone : `fixture-${++seq}-${Date.now()}`;
    client = await store.db
      .insertInto('clients')
      .values({
        project_id: f.projectId,
        name: f.clientName,
        phone: f.clientPhone ?? null,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    identity = await store.db
      .insertInto('client_identities')
      .values({
        project_id: f.projectId,
        client_id: client.id,
        channel_id: channelId,
        channel_type: channelType,
        external_id: externalId,
        display_name: f.clientName,
        handle: f.clientHandle ?? null,
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
  }

  const first = messages[0];
  const last = messages[messages.length - 1];
  const firstIn = messages.find((m) => m.direction === 'in');
  // The first answer by a person (auto-replies do not count as a response).
  const firstResponse = firstIn
    ? messages.find((m) => m.direction === 'out' && authorOf(m).type === 'manager' && m.at >= firstIn.at)
    : undefined;
  const lastResponderMsg = [...messages]
    .reverse()
    .find((m) => authorOf(m).type === 'client' || authorOf(m).type === 'manager');
  const lastOutIndex = messages.map((m) => m.direction).lastIndexOf('out');
  const unread =
    f.status === 'closed' ? 0 : messages.slice(lastOutIndex + 1).filter((m) => m.direction === 'in').length;
  const closedAt = f.status === 'closed' ? (f.closedAt ?? (last?.at ?? f.createdAt) + 60_000) : null;
  const closedBy = f.status === 'closed' ? (f.closedBy !== undefined ? f.closedBy : managerId) : null;
  const at = f.attribution ?? {};

  const dialog = await store.db
    .insertInto('dialogs')
    .values({
      project_id: f.projectId,
      channel_id: channelId,
      channel_type: channelType,
      number_id: null,
      outbound_only: f.outboundOnly ? 1 : 0,
      client_id: client.id,
      identity_id: identity.id,
      client_name: f.clientName,
      client_phone: f.clientPhone ?? null,
      client_handle: f.clientHandle ?? null,
      client_external_id: externalId,
      search_text: [f.clientName, f.clientPhone, f.clientHandle].filter(Boolean).join(' ').toLowerCase(),
      status: f.status,
      manager_id: managerId,
      manager_name: managerName,
      manager_sort: sortKey(managerName),
      created_at: f.createdAt,
      updated_at: closedAt ?? last?.at ?? f.createdAt,
      closed_at: closedAt,
      closed_by: closedBy,
      closed_by_name: await userName(store, closedBy),
      close_reason: f.status === 'closed' ? (f.closeReason ?? null) : null,
      last_message_at: last?.at ?? null,
      last_direction: last?.direction ?? null,
      last_author_type: last ? authorOf(last).type : null,
      last_author_id: last ? authorOf(last).id : null,
      last_author_name: last ? authorName(last) : null,
      last_responder_type: lastResponderMsg ? (authorOf(lastResponderMsg).type as 'client' | 'manager') : null,
      last_responder_id: lastResponderMsg ? authorOf(lastResponderMsg).id : null,
      last_responder_name: lastResponderMsg ? authorName(lastResponderMsg) : null,
      first_message_at: first?.at ?? null,
      first_response_at: firstResponse?.at ?? null,
      first_response_seconds: firstResponse && firstIn ? Math.round((firstResponse.at - firstIn.at) / 1000) : null,
      messages_in: messages.filter((m) => m.direction === 'in').length,
      messages_out: messages.filter((m) => m.direction === 'out').length,
      unread_count: unread,
      visit_id: null,
      source: at.source ?? null,
      channel_group: at.channel_group ?? null,
      utm_source: at.utm_source ?? null,
      utm_medium: at.utm_medium ?? null,
      utm_campaign: at.utm_campaign ?? null,
      utm_term: at.utm_term ?? null,
      utm_content: at.utm_content ?? null,
      referrer: at.referrer ?? null,
      landing_url: at.landing_url ?? null,
      click_ids: at.click_ids ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();

  const history = [...(f.previousManagerIds ?? []), ...(managerId === null ? [] : [managerId])];
  for (const [i, userId] of history.entries()) {
    await store.db
      .insertInto('dialog_managers')
      .values({ project_id: f.projectId, dialog_id: dialog.id, user_id: userId, assigned_at: f.createdAt + i })
      .onConflict((oc) => oc.columns(['project_id', 'dialog_id', 'user_id']).doNothing())
      .execute();
  }

  const messageIds: number[] = [];
  for (const m of messages) {
    const a = authorOf(m);
    const row = await store.db
      .insertInto('messages')
      .values({
        project_id: f.projectId,
        dialog_id: dialog.id,
        channel_id: channelId,
        direction: m.direction,
        author_type: a.type,
        author_id: a.id,
        author_name: authorName(m),
        text: m.text,
        attachments: null,
        created_at: m.at,
        status: m.status ?? (m.direction === 'in' ? 'received' : 'delivered'),
        failure_reason: null,
        platform_message_id: null,
        updated_at: m.at,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    messageIds.push(row.id);
  }

  return { id: dialog.id, channelId, clientId: client.id, identityId: identity.id, messageIds };
}

/** A channel with sealed credentials, as channel set-up stores it (without the platform calls). */
export async function insertSealedChannel(
  store: Store,
  projectId: number,
  type: ChannelType | 'sms-http',
  credentials: object,
  opts: { webhookSecret?: string | null; config?: object; name?: string } = {},
) {
  const now = Date.now();
  const { id } = await store.db
    .insertInto('channels')
    .values({
      project_id: projectId,
      type,
      name: opts.name ?? `${type} ${++seq}`,
      webhook_secret: opts.webhookSecret ?? null,
      config: JSON.stringify(opts.config ?? {}),
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await store.db
    .updateTable('channels')
    .set({ credentials: sealCredentials(TEST_SECRET, projectId, id, credentials) })
    .where('project_id', '=', projectId)
    .where('id', '=', id)
    .execute();
  return id;
}
