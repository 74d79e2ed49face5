import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, test } from 'node:test';
import { sql } from 'kysely';
import type { DomainEvent } from '../realtime/bus.js';
import type { Store } from '../store/open.js';
import { createChannel } from '../testing/fixtures.js';
import { appContext, createProject, forEachStore } from '../testing/harness.js';
import { autoCloseDue } from './auto-close.js';
import type { AppContext, ProjectContext } from './context.js';
import { closeDialog } from './dialog-lifecycle.js';
import { type InboundMessageEvent, receiveInbound } from './receive-inbound.js';
import { replyToDialog } from './send-reply.js';
import { WebhookWorker } from './webhook-worker.js';
import { createWebhook, deleteWebhook, recordWebhookEvents, updateWebhook } from './webhooks.js';

/**
 * Deliveries are written in the transaction of the change (a transactional outbox): no bus
 * listener has to run for an event to be queued, a change that rolls back leaves no delivery, and a
 * delivery that cannot be written leaves no change (the platform retries, and then both are stored).
 */

interface Body {
  id: string;
  type: string;
  projectId: number;
  data: { dialog: { id: number; status: string }; message?: { id: number; status: string; text: string } };
}

forEachStore('webhooks in the transaction', (env) => {
  let store: Store;
  let app: AppContext;
  let seq = 0;
  const published: DomainEvent[] = [];

  const ctxOf = (projectId: number): ProjectContext => ({
    ...app,
    project: { id: projectId, name: 'p', timeZone: 'Europe/Warsaw', language: 'pl' },
    actor: { type: 'system', name: 'test' },
  });
  const msg = (user: string, text: string, platformMessageId = `${user}:${++seq}`): InboundMessageEvent => ({
    kind: 'message',
    externalUserId: user,
    displayName: `Klient ${user}`,
    platformMessageId,
    text,
    sentAt: Date.now(),
  });
  const deliveries = (projectId: number) =>
    store.db.selectFrom('webhook_deliveries').selectAll().where('project_id', '=', projectId).orderBy('id').execute();
  const bodies = async (projectId: number) => (await deliveries(projectId)).map((r) => JSON.parse(r.payload) as Body);

  before(() => {
    store = env.ts.store;
    // No WebhookWorker and no other bus listener: whatever is queued is queued by the services.
    app = appContext(store);
    app.bus.subscribe((e) => published.push(e));
  });

  test('an inbound message has its deliveries when receiveInbound returns, in event order, with the payloads', async () => {
    const projectId = await createProject(store, 'Sklep');
    const channelId = await createChannel(store, projectId, 'telegram');
    const channel = { id: channelId, projectId, type: 'telegram' as const };
    const ep = await createWebhook(ctxOf(projectId), {
      url: 'https://crm.example/hook',
      events: ['dialog.opened', 'message.created', 'message.status', 'dialog.closed'],
    });
    published.length = 0;
    const [first] = await receiveInbound(app, channel, [msg('501', 'Dzień dobry')]);
    const dialogId = (first as { dialogId: number }).dialogId;
    const messageId = (first as { messageId: number }).messageId;

    const rows = await deliveries(projectId);
    assert.deepEqual(
      rows.map((r) => [r.event_type, r.event_key, Number(r.endpoint_id), r.status]),
      [
        ['dialog.opened', `dialog.opened:${dialogId}`, ep.id, 'pending'],
        ['message.created', `message.created:${messageId}`, ep.id, 'pending'],
      ],
    );
    const [opened, created] = await bodies(projectId);
    assert.equal(opened!.id, rows[0]!.uid);
    assert.equal(opened!.projectId, projectId);
    assert.equal(opened!.data.dialog.id, dialogId);
    assert.equal(opened!.data.message, undefined);
    assert.equal(created!.data.message!.id, messageId);
    assert.equal(created!.data.message!.text, 'Dzień dobry');
    // The workers are woken after the commit, once, after the domain events.
    assert.deepEqual(
      published.map((e) => e.type),
      ['dialog.created', 'message.created', 'webhook.pending'],
    );

    // A reply (send-reply.ts), its status from the platform (a receipt: one statement, made a
    // transaction because the project has endpoints) and a close: each queued by its own verb.
    const reply = await replyToDialog(ctxOf(projectId), dialogId, { text: 'Witamy!' });
    await store.db
      .updateTable('messages')
      .set({ status: 'sent', platform_message_id: 'tg:reply:1' })
      .where('id', '=', reply.id)
      .execute();
    await receiveInbound(app, channel, [{ kind: 'receipt', platformMessageId: 'tg:reply:1', status: 'delivered' }]);
    await closeDialog(ctxOf(projectId), dialogId, { reason: 'done' });
    const all = await bodies(projectId);
    assert.deepEqual(
      all.map((b) => [b.type, b.data.message?.status ?? b.data.dialog.status]),
      [
        ['dialog.opened', 'new'],
        ['message.created', 'delivered'],
        ['message.created', 'queued'],
        ['message.status', 'delivered'],
        ['dialog.closed', 'closed'],
      ],
    );
    // The same receipt again (a platform redelivery) moves nothing and queues nothing.
    await receiveInbound(app, channel, [{ kind: 'receipt', platformMessageId: 'tg:reply:1', status: 'delivered' }]);
    assert.equal((await deliveries(projectId)).length, 5);
  });

  test('a delivery that cannot be written rolls the message back; the platform’s retry stores both', async () => {
    const projectId = await createProject(store, 'Apteka');
    const channelId = await createChannel(store, projectId, 'telegram');
    const channel = { id: channelId, projectId, type: 'telegram' as const };
    await createWebhook(ctxOf(projectId), { url: 'https://crm.example/hook', events: ['message.created'] });
    // The failure comes after every domain statement of the transaction: in the delivery INSERT.
    const pg = store.dialect === 'postgres';
    if (pg) {
      await sql`CREATE FUNCTION dz_fail() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'injected failure'; END $$`.execute(store.db);
      await sql`CREATE TRIGGER dz_fail BEFORE INSERT ON webhook_deliveries
        FOR EACH ROW EXECUTE FUNCTION dz_fail()`.execute(store.db);
    } else {
      await sql`CREATE TRIGGER dz_fail BEFORE INSERT ON webhook_deliveries
        BEGIN SELECT RAISE(ABORT, 'injected failure'); END`.execute(store.db);
    }
    const event = msg('601', 'Czy jest apap?');
    try {
      await assert.rejects(receiveInbound(app, channel, [event]), /injected failure/);
    } finally {
      await sql`DROP TRIGGER dz_fail${pg ? sql` ON webhook_deliveries` : sql``}`.execute(store.db);
      if (pg) await sql`DROP FUNCTION dz_fail()`.execute(store.db);
    }
    const messages = () => store.db.selectFrom('messages').select('id').where('project_id', '=', projectId).execute();
    const dialogs = () => store.db.selectFrom('dialogs').select('id').where('project_id', '=', projectId).execute();
    assert.equal((await messages()).length, 0, 'the message was rolled back with its delivery');
    assert.equal((await dialogs()).length, 0);
    assert.equal((await deliveries(projectId)).length, 0);

    const [again] = await receiveInbound(app, channel, [event]);
    assert.equal(again?.outcome, 'stored');
    assert.equal((await messages()).length, 1);
    const rows = await deliveries(projectId);
    assert.deepEqual(
      rows.map((r) => r.event_key),
      [`message.created:${(again as { messageId: number }).messageId}`],
    );
  });

  test('a change that rolls back leaves no delivery', async () => {
    const projectId = await createProject(store, 'Kwiaciarnia');
    const channelId = await createChannel(store, projectId, 'telegram');
    await createWebhook(ctxOf(projectId), { url: 'https://crm.example/hook', events: ['dialog.closed'] });
    const [r] = await receiveInbound(app, { id: channelId, projectId, type: 'telegram' }, [msg('701', 'Róże')]);
    const dialogId = (r as { dialogId: number }).dialogId;
    await assert.rejects(
      store.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('dialogs')
          .set({ status: 'closed', closed_at: Date.now() })
          .where('id', '=', dialogId)
          .execute();
        const n = await recordWebhookEvents(trx, app, [{ type: 'dialog.updated', projectId, dialogId }]);
        assert.equal(n, 1, 'queued inside the transaction');
        throw new Error('the node dies before the commit');
      }),
      /the node dies/,
    );
    assert.equal((await deliveries(projectId)).length, 0);
    const d = await store.db
      .selectFrom('dialogs')
      .select('status')
      .where('id', '=', dialogId)
      .executeTakeFirstOrThrow();
    assert.equal(d.status, 'new');
  });

  test('endpoint changes apply at once on this node; another node’s within the cache’s second', async () => {
    const projectId = await createProject(store, 'Serwis');
    const channelId = await createChannel(store, projectId, 'telegram');
    const channel = { id: channelId, projectId, type: 'telegram' as const };
    const count = async () => (await deliveries(projectId)).length;
    // Cached: the project has no endpoints.
    await receiveInbound(app, channel, [msg('801', 'Jeden')]);
    assert.equal(await count(), 0);
    const ep = await createWebhook(ctxOf(projectId), { url: 'https://crm.example/hook', events: ['message.created'] });
    await receiveInbound(app, channel, [msg('801', 'Dwa')]);
    assert.equal(await count(), 1, 'created here: seen by the next transaction');
    await updateWebhook(ctxOf(projectId), ep.id, { enabled: false });
    await receiveInbound(app, channel, [msg('801', 'Trzy')]);
    assert.equal(await count(), 1, 'disabled: nothing queued');
    await updateWebhook(ctxOf(projectId), ep.id, { enabled: true, events: ['dialog.closed'] });
    await receiveInbound(app, channel, [msg('801', 'Cztery')]);
    assert.equal(await count(), 1, 'no longer subscribed to messages');
    await deleteWebhook(ctxOf(projectId), ep.id);

    // An endpoint written by another node (not through this node's services or bus): this node's
    // cached list (no endpoints, read just now) is used until it is a second old.
    await receiveInbound(app, channel, [msg('801', 'Pięć')]);
    const now = Date.now();
    await store.db
      .insertInto('webhook_endpoints')
      .values({
        project_id: projectId,
        url: 'https://crm.example/other-node',
        events: JSON.stringify(['message.created']),
        secret: '',
        enabled: 1,
        paused_at: null,
        pause_reason: null,
        consecutive_failures: 0,
        failing_since: null,
        created_at: now,
      })
      .execute();
    await receiveInbound(app, channel, [msg('801', 'Sześć')]);
    await new Promise((r) => setTimeout(r, 1_100));
    await receiveInbound(app, channel, [msg('801', 'Siedem')]);
    const texts = (await bodies(projectId)).map((b) => b.data.message?.text);
    // (Deleting the first endpoint removed its log, 'Dwa' included.)
    assert.equal(texts.at(-1), 'Siedem', 'seen once the cached list is older than a second');
    assert.ok(!texts.includes('Pięć'));
  });

  test('auto-close queues dialog.closed in its transaction', async () => {
    const projectId = await createProject(store, 'Auto');
    await store.db
      .updateTable('projects')
      .set({ settings: JSON.stringify({ autoCloseHours: 1 }) })
      .where('id', '=', projectId)
      .execute();
    const channelId = await createChannel(store, projectId, 'telegram');
    await createWebhook(ctxOf(projectId), { url: 'https://crm.example/hook', events: ['dialog.closed'] });
    const [r] = await receiveInbound(app, { id: channelId, projectId, type: 'telegram' }, [msg('901', 'Stare')]);
    const later: AppContext = { ...app, clock: () => Date.now() + 2 * 3_600_000 };
    assert.ok((await autoCloseDue(later)) >= 1);
    const rows = await bodies(projectId);
    assert.deepEqual(
      rows.map((b) => [b.type, b.data.dialog.id, b.data.dialog.status]),
      [['dialog.closed', (r as { dialogId: number }).dialogId, 'closed']],
    );
  });

  test('the worker is woken after the commit: delivered without waiting for its poll', async () => {
    let hits = 0;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hits++;
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const worker = new WebhookWorker(app, { pollMs: 60_000 });
    try {
      const projectId = await createProject(store, 'Szybko');
      const channelId = await createChannel(store, projectId, 'telegram');
      await createWebhook(ctxOf(projectId), { url, events: ['message.created'] });
      // The other tests' deliveries (to hosts that do not exist) are not this worker's business.
      await store.db.updateTable('webhook_deliveries').set({ status: 'dead' }).execute();
      worker.start();
      // Let the first round (at start) find nothing and the worker settle into its minute-long poll.
      await new Promise((r) => setTimeout(r, 100));
      await receiveInbound(app, { id: channelId, projectId, type: 'telegram' }, [msg('1001', 'Szybciej')]);
      for (let i = 0; i < 100 && hits === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(hits, 1);
      const [row] = await deliveries(projectId);
      for (let i = 0; i < 50; i++) {
        const d = await deliveries(projectId);
        if (d[0]?.status === 'delivered') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal((await deliveries(projectId))[0]?.status, 'delivered', `delivery ${row?.id}`);
    } finally {
      await worker.stop();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
