import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { DomainEvent } from '../realtime/bus.js';
import { isUniqueViolation } from '../store/errors.js';
import type { Store } from '../store/open.js';
import { createChannel, insertDialog } from '../testing/fixtures.js';
import { appContext, createProject, forEachStore } from '../testing/harness.js';
import type { AppContext } from './context.js';
import { type InboundChannel, type InboundEvent, type InboundMessageEvent, receiveInbound } from './receive-inbound.js';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
let seq = 0;

interface Env {
  store: Store;
  ctx: AppContext;
  channel: InboundChannel;
  events: DomainEvent[];
  setNow(ms: number): void;
}

async function setup(store: Store): Promise<Env> {
  const projectId = await createProject(store, `inbound ${++seq}`);
  const channelId = await createChannel(store, projectId, 'telegram');
  let now = T0;
  const ctx = appContext(store, () => now);
  const events: DomainEvent[] = [];
  ctx.bus.subscribe((e) => events.push(e));
  return {
    store,
    ctx,
    channel: { id: channelId, projectId, type: 'telegram' },
    events,
    setNow: (ms) => {
      now = ms;
    },
  };
}

const msg = (over: Partial<InboundMessageEvent> = {}): InboundMessageEvent => ({
  kind: 'message',
  externalUserId: '1001',
  displayName: 'Zofia Wójcik',
  handle: '@zofia_w',
  platformMessageId: `1001:${++seq}`,
  text: 'Dzień dobry',
  sentAt: T0,
  ...over,
});

async function dialogsOf(e: Env) {
  return e.store.db
    .selectFrom('dialogs')
    .selectAll()
    .where('project_id', '=', e.channel.projectId)
    .orderBy('id')
    .execute();
}
async function messagesOf(e: Env) {
  return e.store.db
    .selectFrom('messages')
    .selectAll()
    .where('project_id', '=', e.channel.projectId)
    .orderBy('id')
    .execute();
}
async function count(e: Env, table: 'clients' | 'client_identities' | 'dialogs' | 'messages') {
  const r = await e.store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', e.channel.projectId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

async function addVisit(e: Env, token: string, over: { expiresAt?: number; projectId?: number } = {}) {
  const row = await e.store.db
    .insertInto('visits')
    .values({
      project_id: over.projectId ?? e.channel.projectId,
      token,
      utm_source: 'Google',
      utm_medium: 'cpc',
      utm_campaign: 'wiosna',
      utm_term: 'buty damskie',
      utm_content: 'baner-1',
      referrer: 'https://www.google.pl/',
      landing_url: 'https://sklep.example.pl/buty?utm_source=Google',
      ga_client_id: null,
      click_ids: 'gclid=abc',
      channel_group: 'Paid Search',
      messenger: 'telegram',
      created_at: T0 - 60_000,
      expires_at: over.expiresAt ?? T0 + 86_400_000,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function outbound(e: Env, dialogId: number, platformMessageId: string, status: 'sent' | 'queued', at = T0) {
  const row = await e.store.db
    .insertInto('messages')
    .values({
      project_id: e.channel.projectId,
      dialog_id: dialogId,
      channel_id: e.channel.id,
      direction: 'out',
      author_type: 'manager',
      author_id: null,
      author_name: 'Anna',
      text: 'Odpowiedź',
      attachments: null,
      created_at: at,
      status,
      failure_reason: null,
      platform_message_id: platformMessageId,
      updated_at: at,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

// The columns the product keeps denormalised on a dialog (compared with the test fixtures' rules).
const DENORMALISED = [
  'channel_type',
  'number_id',
  'outbound_only',
  'client_name',
  'client_phone',
  'client_handle',
  'search_text',
  'status',
  'manager_id',
  'manager_name',
  'manager_sort',
  'created_at',
  'updated_at',
  'closed_at',
  'last_message_at',
  'last_direction',
  'last_author_type',
  'last_author_id',
  'last_author_name',
  'last_responder_type',
  'last_responder_id',
  'last_responder_name',
  'first_message_at',
  'first_response_at',
  'first_response_seconds',
  'messages_in',
  'messages_out',
  'unread_count',
  'visit_id',
  'source',
] as const;

forEachStore('receive-inbound', (env) => {
  let e: Env;
  before(async () => {
    e = await setup(env.ts.store);
  });

  test('a first message opens a new dialog whose denormalised fields match the fixtures’ rules', async () => {
    const [out] = await receiveInbound(e.ctx, e.channel, [msg({ text: 'Czy zamówienie wysłane?' })]);
    assert.equal(out?.outcome, 'stored');
    const [d] = await dialogsOf(e);
    assert.ok(d);
    const [m] = await messagesOf(e);
    assert.ok(m);
    assert.deepEqual(e.events, [
      { type: 'dialog.created', projectId: e.channel.projectId, dialogId: d.id },
      { type: 'message.created', projectId: e.channel.projectId, dialogId: d.id, messageId: m.id },
    ]);
    assert.equal(m.direction, 'in');
    assert.equal(m.author_type, 'client');
    assert.equal(m.author_name, 'Zofia Wójcik');
    assert.equal(m.status, 'received');
    assert.equal(m.created_at, T0);

    // The same dialog written by the test fixture: every denormalised column agrees.
    const ref = await insertDialog(e.store, {
      projectId: e.channel.projectId,
      channelId: e.channel.id,
      status: 'new',
      createdAt: T0,
      clientName: 'Zofia Wójcik',
      clientHandle: '@zofia_w',
      messages: [{ direction: 'in', text: 'Czy zamówienie wysłane?', at: T0 }],
    });
    const fixtureRow = (await dialogsOf(e)).find((x) => x.id === ref.id)!;
    for (const col of DENORMALISED) assert.deepEqual(d[col], fixtureRow[col], col);
    assert.equal(d.search_text, 'zofia wójcik @zofia_w');
    await e.store.db.deleteFrom('dialogs').where('id', '=', ref.id).execute();
    await e.store.db.deleteFrom('messages').where('dialog_id', '=', ref.id).execute();
    await e.store.db.deleteFrom('client_identities').where('id', '=', ref.identityId).execute();
    await e.store.db.deleteFrom('clients').where('id', '=', ref.clientId).execute();
  });

  test('the next message is appended; a redelivery is acknowledged and changes nothing', async () => {
    e.events.length = 0;
    e.setNow(T0 + 60_000);
    const second = msg({ text: 'Halo?', sentAt: T0 + 59_000 });
    const [out] = await receiveInbound(e.ctx, e.channel, [second]);
    assert.equal(out?.outcome, 'stored');
    const [d] = await dialogsOf(e);
    assert.equal(d?.messages_in, 2);
    assert.equal(d?.unread_count, 2);
    assert.equal(d?.last_message_at, T0 + 59_000);
    assert.equal(d?.first_message_at, T0);
    assert.equal(d?.updated_at, T0 + 60_000);
    assert.deepEqual(
      e.events.map((x) => x.type),
      ['dialog.updated', 'message.created'],
    );

    e.events.length = 0;
    const before = { dialogs: await dialogsOf(e), messages: await messagesOf(e) };
    e.setNow(T0 + 120_000);
    assert.deepEqual(await receiveInbound(e.ctx, e.channel, [second, { ...second, text: 'other text' }]), [
      { kind: 'message', outcome: 'duplicate' },
      { kind: 'message', outcome: 'duplicate' },
    ]);
    assert.deepEqual(await dialogsOf(e), before.dialogs);
    assert.deepEqual(await messagesOf(e), before.messages);
    assert.deepEqual(e.events, []);
  });

  test('a platform time in the future or before the last message is clamped', async () => {
    e.setNow(T0 + 180_000);
    await receiveInbound(e.ctx, e.channel, [msg({ sentAt: T0 + 999_999_999 })]);
    await receiveInbound(e.ctx, e.channel, [msg({ sentAt: T0 })]);
    const ms = await messagesOf(e);
    assert.deepEqual(
      ms.slice(-2).map((m) => m.created_at),
      [T0 + 180_000, T0 + 180_000],
    );
  });

  test('a renamed client: identity, client and the open dialog follow; an unknown name keeps the old', async () => {
    e.setNow(T0 + 200_000);
    await receiveInbound(e.ctx, e.channel, [msg({ displayName: 'Zofia Nowak', handle: '@zofia_n' })]);
    let [d] = await dialogsOf(e);
    assert.equal(d?.client_name, 'Zofia Nowak');
    assert.equal(d?.client_handle, '@zofia_n');
    assert.equal(d?.search_text, 'zofia nowak @zofia_n');
    assert.equal(d?.last_author_name, 'Zofia Nowak');
    await receiveInbound(e.ctx, e.channel, [msg({ displayName: undefined, handle: undefined })]);
    [d] = await dialogsOf(e);
    assert.equal(d?.client_name, 'Zofia Nowak');
    const identities = await e.store.db
      .selectFrom('client_identities')
      .selectAll()
      .where('project_id', '=', e.channel.projectId)
      .execute();
    assert.equal(identities.length, 1);
    assert.equal(identities[0]?.display_name, 'Zofia Nowak');
    assert.equal(await count(e, 'clients'), 1);
  });

  test('R7: after the dialog is closed, the next message opens a new dialog for the same client', async () => {
    const [d1] = await dialogsOf(e);
    await e.store.db
      .updateTable('dialogs')
      .set({ status: 'closed', closed_at: T0 + 300_000 })
      .where('id', '=', d1!.id)
      .execute();
    e.setNow(T0 + 400_000);
    e.events.length = 0;
    const [out] = await receiveInbound(e.ctx, e.channel, [msg({ text: 'Znowu ja' })]);
    assert.equal(out?.outcome, 'stored');
    const ds = await dialogsOf(e);
    assert.equal(ds.length, 2);
    const d2 = ds[1]!;
    assert.notEqual(d2.id, d1!.id);
    assert.equal(d2.status, 'new');
    assert.equal(d2.client_id, d1!.client_id);
    assert.equal(d2.identity_id, d1!.identity_id);
    assert.equal(d2.messages_in, 1);
    assert.equal(e.events[0]?.type, 'dialog.created');
    assert.equal(await count(e, 'clients'), 1);
  });

  test('deep links: a valid visit attaches; expired, foreign or unknown tokens are ignored', async () => {
    const other = await createProject(e.store, 'someone else');
    await addVisit(e, 'vt_valid');
    await addVisit(e, 'vt_expired', { expiresAt: T0 - 1 });
    await addVisit(e, 'vt_foreign', { projectId: other });
    const visitId = (await e.store.db
      .selectFrom('visits')
      .select('id')
      .where('token', '=', 'vt_valid')
      .executeTakeFirst())!.id;
    e.setNow(T0 + 500_000);
    const users = ['u-valid', 'u-expired', 'u-foreign', 'u-unknown'];
    const tokens = ['vt_valid', 'vt_expired', 'vt_foreign', 'vt_nope'];
    for (const [i, u] of users.entries()) {
      const [out] = await receiveInbound(e.ctx, e.channel, [
        {
          kind: 'start',
          eventId: `start-${u}`,
          externalUserId: u,
          displayName: u,
          sentAt: T0,
          deepLinkToken: tokens[i],
        },
      ]);
      assert.equal(out?.outcome, 'stored');
    }
    const byName = new Map((await dialogsOf(e)).map((d) => [d.client_name, d]));
    const valid = byName.get('u-valid')!;
    assert.equal(valid.visit_id, visitId);
    assert.equal(valid.source, 'google');
    assert.equal(valid.channel_group, 'Paid Search');
    assert.equal(valid.utm_source, 'Google');
    assert.equal(valid.utm_medium, 'cpc');
    assert.equal(valid.utm_campaign, 'wiosna');
    assert.equal(valid.utm_term, 'buty damskie');
    assert.equal(valid.utm_content, 'baner-1');
    assert.equal(valid.referrer, 'https://www.google.pl/');
    assert.equal(valid.landing_url, 'https://sklep.example.pl/buty?utm_source=Google');
    assert.equal(valid.click_ids, 'gclid=abc');
    // A start opens the dialog without a message.
    assert.equal(valid.messages_in, 0);
    assert.equal(valid.last_message_at, null);
    assert.equal(valid.status, 'new');
    for (const u of ['u-expired', 'u-foreign', 'u-unknown']) {
      const d = byName.get(u)!;
      assert.equal(d.visit_id, null, u);
      assert.equal(d.source, null, u);
      assert.equal(d.utm_source, null, u);
    }
    // The same start again: a duplicate. The client then writes: the same dialog, still attributed.
    assert.equal(
      (
        await receiveInbound(e.ctx, e.channel, [
          { kind: 'start', eventId: 'start-u-valid', externalUserId: 'u-valid', sentAt: T0, deepLinkToken: 'vt_valid' },
        ])
      )[0]?.outcome,
      'duplicate',
    );
    // Its platform time is before the dialog opened: it counts from the dialog's start.
    await receiveInbound(e.ctx, e.channel, [
      msg({ externalUserId: 'u-valid', displayName: 'u-valid', handle: undefined, sentAt: T0 - 5_000 }),
    ]);
    const after = (await dialogsOf(e)).filter((d) => d.client_name === 'u-valid');
    assert.equal(after.length, 1);
    assert.equal(after[0]?.visit_id, visitId);
    assert.equal(after[0]?.messages_in, 1);
    assert.equal(after[0]?.created_at, T0);
    assert.equal(after[0]?.first_message_at, T0);
    // A later link does not replace the first touch; one on a dialog without a visit attaches.
    await addVisit(e, 'vt_second');
    await receiveInbound(e.ctx, e.channel, [
      msg({ externalUserId: 'u-valid', displayName: 'u-valid', handle: undefined, deepLinkToken: 'vt_second' }),
      msg({ externalUserId: 'u-unknown', displayName: 'u-unknown', handle: undefined, deepLinkToken: 'vt_second' }),
    ]);
    const final = new Map((await dialogsOf(e)).map((d) => [d.client_name, d]));
    assert.equal(final.get('u-valid')?.visit_id, visitId);
    assert.notEqual(final.get('u-unknown')?.visit_id, null);
  });

  test('receipts move a sent message forward only; failed only before delivery', async () => {
    const [d] = await dialogsOf(e);
    const a = await outbound(e, d!.id, 'out-a', 'sent');
    const b = await outbound(e, d!.id, 'out-b', 'sent');
    e.events.length = 0;
    const status = async (id: number) =>
      (await e.store.db
        .selectFrom('messages')
        .select(['status', 'failure_reason'])
        .where('id', '=', id)
        .executeTakeFirst())!;
    const r = (
      platformMessageId: string,
      s: 'delivered' | 'read' | 'failed',
      failureReason?: string,
    ): InboundEvent => ({
      kind: 'receipt',
      platformMessageId,
      status: s,
      failureReason,
    });
    assert.deepEqual(
      (
        await receiveInbound(e.ctx, e.channel, [r('out-a', 'delivered'), r('out-a', 'read'), r('out-a', 'delivered')])
      ).map((x) => x.outcome),
      ['stored', 'stored', 'ignored'],
    );
    assert.equal((await status(a)).status, 'read');
    await receiveInbound(e.ctx, e.channel, [r('out-a', 'failed', 'late failure')]);
    assert.deepEqual(await status(a), { status: 'read', failure_reason: null });
    await receiveInbound(e.ctx, e.channel, [r('out-b', 'failed', 'receiverNotSubscribed'), r('out-b', 'delivered')]);
    assert.deepEqual(await status(b), { status: 'failed', failure_reason: 'receiverNotSubscribed' });
    assert.equal((await receiveInbound(e.ctx, e.channel, [r('nobody', 'read')]))[0]?.outcome, 'ignored');
    // Inbound messages are never touched by receipts.
    const inbound = (await messagesOf(e)).find((m) => m.direction === 'in')!;
    await receiveInbound(e.ctx, e.channel, [r(inbound.platform_message_id!, 'read')]);
    assert.equal((await status(inbound.id)).status, 'received');
    assert.deepEqual(
      e.events.map((x) => [x.type, (x as { messageId: number }).messageId]),
      [
        ['message.status', a],
        ['message.status', a],
        ['message.status', b],
      ],
    );
  });

  test('a watermark marks what was sent to that person before it', async () => {
    const [d] = await dialogsOf(e);
    const early = await outbound(e, d!.id, 'wm-early', 'sent', T0 + 10);
    const late = await outbound(e, d!.id, 'wm-late', 'sent', T0 + 10_000);
    await receiveInbound(e.ctx, e.channel, [
      { kind: 'watermark', externalUserId: '1001', status: 'read', watermark: T0 + 5_000 },
      { kind: 'watermark', externalUserId: 'stranger', status: 'read', watermark: T0 + 5_000 },
    ]);
    const st = async (id: number) =>
      (await e.store.db.selectFrom('messages').select('status').where('id', '=', id).executeTakeFirst())!.status;
    assert.equal(await st(early), 'read');
    assert.equal(await st(late), 'sent');
  });

  test('unreachable and reachable again, each event once', async () => {
    const identity = async () =>
      (await e.store.db
        .selectFrom('client_identities')
        .select(['unreachable', 'unreachable_reason'])
        .where('project_id', '=', e.channel.projectId)
        .where('external_id', '=', '1001')
        .executeTakeFirst())!;
    e.events.length = 0;
    const blocked: InboundEvent = { kind: 'unreachable', externalUserId: '1001', reason: 'blocked', eventId: 'u:1' };
    assert.equal((await receiveInbound(e.ctx, e.channel, [blocked]))[0]?.outcome, 'stored');
    assert.deepEqual(await identity(), { unreachable: 1, unreachable_reason: 'blocked' });
    assert.equal(e.events[0]?.type, 'dialog.updated');
    await receiveInbound(e.ctx, e.channel, [{ kind: 'reachable', externalUserId: '1001', eventId: 'u:2' }]);
    assert.deepEqual(await identity(), { unreachable: 0, unreachable_reason: null });
    // A late redelivery of the block does not undo the unblock.
    assert.equal((await receiveInbound(e.ctx, e.channel, [blocked]))[0]?.outcome, 'duplicate');
    assert.deepEqual(await identity(), { unreachable: 0, unreachable_reason: null });
    assert.equal(
      (
        await receiveInbound(e.ctx, e.channel, [
          { kind: 'unreachable', externalUserId: 'nobody', reason: 'unsubscribed' },
        ])
      )[0]?.outcome,
      'ignored',
    );
  });

  test('isUniqueViolation recognises the store’s unique-key error by its code', async () => {
    const [m] = await messagesOf(e);
    const { id: _id, ...copy } = m!;
    const err = await e.store.db
      .insertInto('messages')
      .values(copy)
      .execute()
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    assert.ok(err, 'the duplicate insert failed');
    assert.equal(isUniqueViolation(err), true);
    const notNull = await e.store.db
      .insertInto('messages')
      .values({ ...copy, platform_message_id: 'fresh', text: null as unknown as string })
      .execute()
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    assert.ok(notNull);
    assert.equal(isUniqueViolation(notNull), false);
    assert.equal(isUniqueViolation(new Error('UNIQUE constraint failed: messages.id')), false);
  });

  test('concurrent deliveries: ten copies store one message; five messages of a new client share one dialog', async () => {
    const fresh = await setup(env.ts.store);
    const same = msg({ externalUserId: 'race-1', platformMessageId: 'race-1:1' });
    const outcomes = (
      await Promise.all(Array.from({ length: 10 }, () => receiveInbound(fresh.ctx, fresh.channel, [same])))
    ).map((o) => o[0]?.outcome);
    assert.equal(outcomes.filter((o) => o === 'stored').length, 1);
    assert.equal(outcomes.filter((o) => o === 'duplicate').length, 9);
    assert.equal(await count(fresh, 'messages'), 1);
    assert.equal(await count(fresh, 'dialogs'), 1);
    assert.equal(await count(fresh, 'clients'), 1);

    await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        receiveInbound(fresh.ctx, fresh.channel, [msg({ externalUserId: 'race-2', platformMessageId: `race-2:${i}` })]),
      ),
    );
    const ds = (await dialogsOf(fresh)).filter((d) => d.messages_in > 0);
    assert.equal(ds.length, 2);
    const d2 = ds.find((d) => d.client_name === 'Zofia Wójcik' && d.messages_in === 5);
    assert.ok(d2, 'one dialog with all five messages');
    assert.equal(d2.unread_count, 5);
    assert.equal(await count(fresh, 'clients'), 2);
    assert.equal(await count(fresh, 'client_identities'), 2);
  });
});
