import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/server.js';
import { SenderRegistry } from '../channels/senders.js';
import { buildApp } from '../http/app.js';
import type { Store } from '../store/open.js';
import { insertSealedChannel } from '../testing/fixtures.js';
import { createProject, createToken, createUser, forEachStore, testConfig } from '../testing/harness.js';
import { OutboxWorker } from './outbox-worker.js';
import { forgetProjectServices } from './service-switches.js';

/**
 * Replies end to end: a client writes through the simulator, a manager answers over the API, the
 * outbox worker delivers through the simulated platform, and each platform's documented refusals
 * become retries or failures with the reason (issue 3 §4).
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
type Json = any;

forEachStore('outbound replies', (env) => {
  let sim: Simulator;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let base: string;
  let projectId: number;
  let token: string;
  let manager: { id: number; name: string };
  let worker: OutboxWorker;
  let now = Date.parse('2026-11-20T10:00:00Z');
  const clock = () => now;
  const store = (): Store => env.ts.store;

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1/projects/${projectId}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const reply = (dialogId: number, text: string) => api('POST', `/dialogs/${dialogId}/reply`, { text });
  const message = (id: number) =>
    store().db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const outboxOf = (messageId: number) =>
    store().db.selectFrom('outbox').selectAll().where('message_id', '=', messageId).executeTakeFirstOrThrow();
  const dialogOf = async (channelId: number, externalId: string) =>
    store()
      .db.selectFrom('dialogs')
      .innerJoin('client_identities', 'client_identities.id', 'dialogs.identity_id')
      .selectAll('dialogs')
      .select(['client_identities.unreachable', 'client_identities.unreachable_reason'])
      .where('dialogs.channel_id', '=', channelId)
      .where('client_identities.external_id', '=', externalId)
      .orderBy('dialogs.id', 'desc')
      .executeTakeFirstOrThrow();

  before(async () => {
    sim = await startSimulator({ now: clock, retry: { attempts: 1, delayMs: 5 } });
    const config = testConfig({
      TELEGRAM_API_URL: sim.urls.telegram,
      VIBER_API_URL: sim.urls.viber,
      GRAPH_API_URL: sim.urls.graph,
    });
    app = await buildApp({ config, store: store(), logger: false, clock });
    await app.fastify.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.fastify.server.address() as { port: number }).port}`;
    projectId = await createProject(store(), 'outbound');
    token = await createToken(store(), projectId, 'admin');
    manager = await createUser(store(), projectId, 'manager', 'Marta Menedżer');
    worker = new OutboxWorker(app.app, new SenderRegistry(app.app), {
      nodeId: 'test-node',
      random: () => 1,
      backoffBaseMs: 1000,
      maxAttempts: 4,
    });
  });
  after(async () => {
    await worker?.stop();
    await app?.fastify.close();
    await sim?.close();
  });

  describe('Telegram', () => {
    const TOKEN = '7012345678:AAE-outbound-test-token-000000000';
    const SECRET = 'dz_tg-outbound_0123456789';
    let channelId: number;

    before(async () => {
      sim.telegram.createBot({ token: TOKEN, username: 'sklep_bot' });
      channelId = await insertSealedChannel(
        store(),
        projectId,
        'telegram',
        { botToken: TOKEN },
        { webhookSecret: SECRET },
      );
      const r = await fetch(`${sim.urls.telegram}/bot${TOKEN}/setWebhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${base}/webhooks/telegram/${channelId}`, secret_token: SECRET }),
      });
      assert.equal(r.status, 200);
    });

    test('a reply is queued with the dialog updated, then sent: status sent with the platform id', async () => {
      await sim.telegram.sendFromUser(TOKEN, { userId: 701, firstName: 'Anna', text: 'Czy rower jest dostępny?' });
      const d = await dialogOf(channelId, '701');
      now += 90_000;
      const r = await reply(d.id, 'Tak, jest dostępny — zapraszamy!');
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.status, 'queued');
      assert.equal(r.body.direction, 'out');
      const after = await dialogOf(channelId, '701');
      assert.equal(after.last_responder_type, 'manager');
      assert.equal(after.last_direction, 'out');
      assert.equal(after.messages_out, 1);
      assert.equal(after.unread_count, 0);
      assert.equal(after.first_response_seconds, 90);
      assert.equal(sim.telegram.sent(TOKEN).length, 0, 'nothing leaves before the worker runs');

      await worker.drain();
      const sent = sim.telegram.sent(TOKEN);
      assert.deepEqual(
        sent.map((s) => [s.chatId, s.text]),
        [[701, 'Tak, jest dostępny — zapraszamy!']],
      );
      const m = await message(r.body.id);
      assert.equal(m.status, 'sent');
      assert.equal(m.platform_message_id, `701:${sent[0]!.messageId}`);
      assert.equal((await outboxOf(m.id)).status, 'done');
    });

    test('a user answering an unassigned dialog takes it (SPEC §4.3)', async () => {
      await sim.telegram.sendFromUser(TOKEN, { userId: 702, firstName: 'Bartek', text: 'Halo?' });
      const d = await dialogOf(channelId, '702');
      assert.equal(d.status, 'new');
      const { replyToDialog } = await import('./send-reply.js');
      const { projectContext } = await import('../testing/harness.js');
      const ctx = {
        ...projectContext(store(), projectId, { type: 'user', id: manager.id, name: manager.name, role: 'manager' }),
        bus: app.app.bus,
        clock,
      };
      await replyToDialog(ctx, d.id, { text: 'Dzień dobry!' });
      const after = await dialogOf(channelId, '702');
      assert.equal(after.status, 'open');
      assert.equal(after.manager_id, manager.id);
      assert.equal(after.last_responder_name, manager.name);
      await worker.drain();
    });

    test('concurrent replies in two dialogs, two workers: each sent once, in order per dialog', async () => {
      await sim.telegram.sendFromUser(TOKEN, { userId: 703, firstName: 'Celina', text: 'Pytanie 1' });
      await sim.telegram.sendFromUser(TOKEN, { userId: 704, firstName: 'Darek', text: 'Pytanie 2' });
      const a = await dialogOf(channelId, '703');
      const b = await dialogOf(channelId, '704');
      sim.telegram.setLatency(3);
      const texts = Array.from({ length: 12 }, (_, i) => `odpowiedź ${i + 1}`);
      const posted = await Promise.all(texts.flatMap((t) => [reply(a.id, `A ${t}`), reply(b.id, `B ${t}`)]));
      for (const p of posted) assert.equal(p.status, 201);
      const second = new OutboxWorker(app.app, new SenderRegistry(app.app), { nodeId: 'second-node' });
      const before = sim.telegram.sent(TOKEN).length;
      await Promise.all([worker.drain(), second.drain(), worker.drain()]);
      sim.telegram.setLatency(0);
      const sent = sim.telegram.sent(TOKEN).slice(before);
      assert.equal(sent.length, 24, 'each reply exactly once');
      const expectOrder = async (chatId: number, dialogId: number) => {
        const ids = await store()
          .db.selectFrom('messages')
          .select('text')
          .where('dialog_id', '=', dialogId)
          .where('direction', '=', 'out')
          .orderBy('id')
          .execute();
        assert.deepEqual(
          sent.filter((s) => s.chatId === chatId).map((s) => s.text),
          ids.map((m) => m.text),
        );
      };
      await expectOrder(703, a.id);
      await expectOrder(704, b.id);
    });

    test('429 retry_after: retried after the time Telegram asked for, not before', async () => {
      const d = await dialogOf(channelId, '701');
      sim.telegram.failNext({ kind: 'rateLimit', retryAfter: 7 });
      const r = await reply(d.id, 'Po przerwie');
      await worker.drain();
      assert.equal((await message(r.body.id)).status, 'queued');
      const ob = await outboxOf(r.body.id);
      assert.equal(ob.status, 'pending');
      assert.equal(Number(ob.next_attempt_at), now + 7000);
      assert.match(ob.last_error ?? '', /rate_limited/);
      now += 6_000;
      await worker.drain();
      assert.equal((await message(r.body.id)).status, 'queued', 'not before retry_after');
      now += 1_000;
      await worker.drain();
      assert.equal((await message(r.body.id)).status, 'sent');
    });

    test('a later message of the dialog waits while the earlier one backs off', async () => {
      const d = await dialogOf(channelId, '701');
      sim.telegram.failNext({ kind: 'serverError' });
      const first = await reply(d.id, 'pierwsza');
      const second = await reply(d.id, 'druga');
      await worker.drain();
      assert.equal((await message(first.body.id)).status, 'queued');
      assert.equal((await message(second.body.id)).status, 'queued', 'held behind the first');
      now += 1_000;
      await worker.drain();
      const texts = sim.telegram
        .sent(TOKEN)
        .slice(-2)
        .map((s) => s.text);
      assert.deepEqual(texts, ['pierwsza', 'druga']);
    });

    test('5xx until the attempts run out: failed with the reason', async () => {
      const d = await dialogOf(channelId, '701');
      sim.telegram.failNext({ kind: 'serverError' }, { times: 4 });
      const r = await reply(d.id, 'nie dojdzie');
      for (let i = 0; i < 5; i++) {
        await worker.drain();
        now += 10_000;
      }
      const m = await message(r.body.id);
      assert.equal(m.status, 'failed');
      assert.match(m.failure_reason ?? '', /gave up after 4 attempts/);
      assert.equal((await outboxOf(m.id)).status, 'failed');
    });

    test('the bot was blocked: failed permanently, the client marked unreachable, the next reply refused', async () => {
      await sim.telegram.sendFromUser(TOKEN, { userId: 705, firstName: 'Ewa', text: 'Dzień dobry' });
      const d = await dialogOf(channelId, '705');
      sim.telegram.failNext({ kind: 'blocked' });
      const r = await reply(d.id, 'Odpowiedź');
      await worker.drain();
      const m = await message(r.body.id);
      assert.equal(m.status, 'failed');
      assert.match(m.failure_reason ?? '', /^blocked/);
      assert.equal((await dialogOf(channelId, '705')).unreachable, 1);
      const detail = await api('GET', `/dialogs/${d.id}`);
      assert.deepEqual(detail.body.clientReachable, { reachable: false, reason: 'blocked' }, 'the composer is told');
      assert.equal(detail.body.lastClientMessageAt, new Date(now).toISOString());
      const again = await reply(d.id, 'Jeszcze raz');
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, /blocked/);
    });

    test('bad input: empty text, a closed dialog, a missing dialog — a clear error and nothing written', async () => {
      const d = await dialogOf(channelId, '701');
      const count = async () =>
        Number(
          (
            await store()
              .db.selectFrom('messages')
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      const before = await count();
      const empty = await reply(d.id, '   ');
      assert.equal(empty.status, 400);
      assert.equal(empty.body.error.fields[0].field, 'body.text');
      const extra = await api('POST', `/dialogs/${d.id}/reply`, { text: 'x', html: true });
      assert.equal(extra.status, 400);
      const long = await reply(d.id, 'x'.repeat(4097));
      assert.equal(long.status, 400);
      assert.match(long.body.error.message, /4096/);
      assert.equal((await reply(999_999, 'x')).status, 404);
      await store()
        .db.updateTable('dialogs')
        .set({ status: 'closed', closed_at: now })
        .where('id', '=', d.id)
        .execute();
      const closed = await reply(d.id, 'po zamknięciu');
      assert.equal(closed.status, 409);
      assert.equal(await count(), before);
    });

    test('start a dialog with someone who wrote before; a stranger is refused naming body.to', async () => {
      const r = await api('POST', '/dialogs', { channelId, to: '701', text: 'Wracamy z informacją' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.created, true, 'the previous dialog was closed: a new one');
      assert.equal(r.body.dialog.status, 'new', 'an API token is nobody: the dialog stays unassigned');
      assert.equal(r.body.message.status, 'queued');
      await worker.drain();
      assert.equal(sim.telegram.sent(TOKEN).at(-1)?.text, 'Wracamy z informacją');
      const stranger = await api('POST', '/dialogs', { channelId, to: '99999', text: 'Hej' });
      assert.equal(stranger.status, 400);
      assert.equal(stranger.body.error.fields[0].field, 'body.to');
      const number = await api('POST', '/dialogs', { channelId, to: '701', text: 'Hej', numberId: 1 });
      assert.equal(number.status, 400);
      assert.equal(number.body.error.fields[0].field, 'body.numberId');
    });
  });

  describe('Viber', () => {
    const AUTH = '4a1b2c3d4e5f6a7b-outbound-6e7f8a9b0c1d2e3f';
    let channelId: number;

    before(async () => {
      sim.viber.createAccount({ authToken: AUTH, uri: 'sklepviber', name: 'Sklep Rowerowy' });
      channelId = await insertSealedChannel(
        store(),
        projectId,
        'viber',
        { authToken: AUTH },
        {
          config: { botName: 'Sklep Rowerowy' },
        },
      );
      const r = await fetch(`${sim.urls.viber}/set_webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'X-Viber-Auth-Token': AUTH },
        body: JSON.stringify({ url: `${base}/webhooks/viber/${channelId}` }),
      });
      assert.equal(((await r.json()) as Json).status, 0);
    });

    test('a reply goes out as the bot with its message_token kept as text; a delivered callback moves it on', async () => {
      await sim.viber.sendFromUser(AUTH, { userId: 'vOut1==', name: 'Zofia', text: 'Dzień dobry' });
      const d = await dialogOf(channelId, 'vOut1==');
      const r = await reply(d.id, 'Witamy!');
      await worker.drain();
      const [sent] = sim.viber.sent(AUTH).filter((s) => s.kind === 'send_message');
      assert.ok(sent);
      assert.equal(sent.text, 'Witamy!');
      assert.equal((sent.body.sender as { name: string }).name, 'Sklep Rowerowy');
      const m = await message(r.body.id);
      assert.equal(m.status, 'sent');
      assert.equal(m.platform_message_id, String(sent?.messageToken));
      await sim.viber.delivered(AUTH, sent!.messageToken!);
      assert.equal((await message(r.body.id)).status, 'delivered');
    });

    test('status 6 receiverNotSubscribed: failed as unsubscribed, the client marked unreachable', async () => {
      await sim.viber.sendFromUser(AUTH, { userId: 'vOut2==', name: 'Jan', text: 'Hej' });
      const d = await dialogOf(channelId, 'vOut2==');
      sim.viber.failNext({ kind: 'status', name: 'receiverNotSubscribed' });
      const r = await reply(d.id, 'Odpowiedź');
      await worker.drain();
      const m = await message(r.body.id);
      assert.equal(m.status, 'failed');
      assert.match(m.failure_reason ?? '', /^unsubscribed/);
      const after = await dialogOf(channelId, 'vOut2==');
      assert.equal(after.unreachable, 1);
      assert.equal(after.unreachable_reason, 'unsubscribed');
    });
  });

  describe('Messenger', () => {
    const PAGE = '104857600000077';
    const PAGE_TOKEN = 'EAAGoutboundpagetoken0123456789';
    const APP_SECRET = 'f00dfacecafe0123456789abcdef0177';
    const VERIFY = 'dz-verify-outbound';
    let channelId: number;

    before(async () => {
      const page = sim.messenger.createPage({ pageId: PAGE, pageAccessToken: PAGE_TOKEN, appSecret: APP_SECRET });
      channelId = await insertSealedChannel(store(), projectId, 'messenger', {
        pageId: PAGE,
        pageAccessToken: PAGE_TOKEN,
        appSecret: APP_SECRET,
        verifyToken: VERIFY,
      });
      const r = await fetch(
        `${sim.urls.graph}/${page.appId}/subscriptions?access_token=${encodeURIComponent(page.appAccessToken)}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            object: 'page',
            callback_url: `${base}/webhooks/messenger/${channelId}`,
            verify_token: VERIFY,
            fields: 'messages,message_deliveries,message_reads,message_echoes',
          }),
        },
      );
      assert.deepEqual(await r.json(), { success: true });
    });

    test('inside 24 h RESPONSE; after 24 h the HUMAN_AGENT tag; after 7 days refused', async () => {
      await sim.messenger.sendFromUser(PAGE, { psid: '7001', firstName: 'Ola', text: 'Dzień dobry' });
      const d = await dialogOf(channelId, '7001');
      const first = await reply(d.id, 'W oknie');
      await worker.drain();
      now += 25 * HOUR;
      const second = await reply(d.id, 'Po dobie');
      await worker.drain();
      const sent = sim.messenger.sent(PAGE).filter((s) => s.recipientId === '7001');
      assert.deepEqual(
        sent.map((s) => [s.text, s.messagingType, s.tag ?? null]),
        [
          ['W oknie', 'RESPONSE', null],
          ['Po dobie', 'MESSAGE_TAG', 'HUMAN_AGENT'],
        ],
      );
      assert.equal((await message(first.body.id)).platform_message_id, sent[0]?.messageId);
      assert.equal((await message(second.body.id)).status, 'sent');
      now += 7 * DAY;
      const late = await reply(d.id, 'Za późno');
      assert.equal(late.status, 409);
      assert.match(late.body.error.message, /7 days/);
    });

    test('Graph 10/2018278 outside the window: failed with the reason; a rate limit is retried', async () => {
      await sim.messenger.sendFromUser(PAGE, { psid: '7002', firstName: 'Piotr', text: 'Hej' });
      const d = await dialogOf(channelId, '7002');
      sim.messenger.failNext({ kind: 'rateLimit' });
      const limited = await reply(d.id, 'Limit');
      await worker.drain();
      assert.equal((await message(limited.body.id)).status, 'queued');
      now += 1_000;
      await worker.drain();
      assert.equal((await message(limited.body.id)).status, 'sent');
      sim.messenger.failNext({ kind: 'outsideWindow' });
      const r = await reply(d.id, 'Poza oknem');
      await worker.drain();
      const m = await message(r.body.id);
      assert.equal(m.status, 'failed');
      assert.match(m.failure_reason ?? '', /^outside_window/);
      const long = await reply(d.id, 'x'.repeat(2001));
      assert.equal(long.status, 400);
    });
  });

  describe('SMS over the HTTP gateway', () => {
    const GW_SECRET = 'gateway-shared-secret-0123456789';
    let channelId: number;
    let numberId: number;
    let outboundOnlyId: number;

    before(async () => {
      channelId = await insertSealedChannel(store(), projectId, 'sms-http', {
        sendUrl: `${sim.urls.smsGateway}/send`,
        secret: GW_SECRET,
      });
      sim.smsGateway.configure({ secret: GW_SECRET, webhookUrl: `${base}/webhooks/sms/${channelId}`, receipts: null });
      const add = async (e164: string) =>
        (
          await store()
            .db.insertInto('numbers')
            .values({
              project_id: projectId,
              channel_id: channelId,
              e164,
              sms_enabled: 1,
              outbound_only: null,
              created_at: now,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id;
      numberId = await add('+48221234567');
      outboundOnlyId = await add('+48799100200');
    });

    test('start a dialog by SMS: a national number normalised, sent from the number, then delivered', async () => {
      const r = await api('POST', '/dialogs', {
        channelId,
        to: '601 234 567',
        text: 'Zamówienie gotowe do odbioru',
        numberId,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.dialog.client.phone, '+48601234567');
      assert.equal(r.body.dialog.canReply, true);
      await worker.drain();
      const sent = sim.smsGateway.sent().at(-1);
      assert.ok(sent);
      assert.deepEqual(
        [sent.to, sent.from, sent.fromType, sent.text, sent.encoding],
        ['+48601234567', '+48221234567', 'number', 'Zamówienie gotowe do odbioru', 'ucs2'],
      );
      const m = await message(r.body.message.id);
      assert.equal(m.status, 'sent');
      assert.equal(m.platform_message_id, sent.messageId);
      await sim.smsGateway.delivered(sent.messageId);
      assert.equal((await message(m.id)).status, 'delivered');
    });

    test('an outbound-only number sends as "SMS" and the dialog says the client cannot reply (R6)', async () => {
      const r = await api('POST', '/dialogs', {
        channelId,
        to: '+48 602 000 111',
        text: 'Przypomnienie o wizycie',
        numberId: outboundOnlyId,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.dialog.canReply, false);
      assert.equal(r.body.dialog.senderLabel, 'SMS');
      await worker.drain();
      const sent = sim.smsGateway.sent().at(-1);
      assert.deepEqual([sent?.to, sent?.from, sent?.fromType], ['+48602000111', 'SMS', 'alphanumeric']);
    });

    test('the gateway refuses the number: failed as invalid_number; a bad number is refused before queuing', async () => {
      sim.smsGateway.failNext({ kind: 'invalidNumber' });
      const r = await api('POST', '/dialogs', { channelId, to: '+48 603 000 222', text: 'Test' });
      await worker.drain();
      const m = await message(r.body.message.id);
      assert.equal(m.status, 'failed');
      assert.match(m.failure_reason ?? '', /^invalid_number/);
      const bad = await api('POST', '/dialogs', { channelId, to: '123', text: 'Test' });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.fields[0].field, 'body.to');
      const tooLong = await api('POST', '/dialogs', { channelId, to: '+48603000222', text: 'ż'.repeat(671) });
      assert.equal(tooLong.status, 400);
      assert.match(tooLong.body.error.message, /11 SMS parts/);
    });
  });

  describe('service switches (SPEC R8)', () => {
    const setServices = async (services: Record<string, boolean>) => {
      await store()
        .db.updateTable('projects')
        .set({ settings: JSON.stringify({ services }) })
        .where('id', '=', projectId)
        .execute();
      forgetProjectServices(app.app, projectId);
    };
    after(() => setServices({}));

    test('SMS off: no SMS sent or taken in, messengers unaffected; messengers off: the bot’s messages ignored', async () => {
      const sms = await store()
        .db.selectFrom('channels')
        .select('id')
        .where('project_id', '=', projectId)
        .where('type', '=', 'sms-http')
        .executeTakeFirstOrThrow();
      await setServices({ sms: false });
      const refused = await api('POST', '/dialogs', { channelId: sms.id, to: '+48604000111', text: 'Hej' });
      assert.equal(refused.status, 409);
      assert.match(refused.body.error.message, /SMS is switched off/);
      const count = async () =>
        Number(
          (
            await store()
              .db.selectFrom('messages')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('project_id', '=', projectId)
              .executeTakeFirstOrThrow()
          ).n,
        );
      const before = await count();
      const mo = await sim.smsGateway.sendFromUser({ from: '+48604000111', to: '+48221234567', text: 'Dzień dobry' });
      assert.equal(mo.status, 200, 'acknowledged, so the gateway does not retry');
      assert.equal(await count(), before, 'nothing stored while SMS is off');

      await setServices({ messengers: false });
      const tgBefore = await count();
      await sim.telegram.sendFromUser('7012345678:AAE-outbound-test-token-000000000', {
        userId: 799,
        firstName: 'Wyłączony',
        text: 'Halo',
      });
      assert.equal(await count(), tgBefore);
      const d = await api('POST', '/dialogs', { channelId: sms.id, to: '+48604000111', text: 'SMS działa' });
      assert.equal(d.status, 201, 'SMS is on again');
      await setServices({ workspace: false });
      const off = await api('POST', `/dialogs/${d.body.dialog.id}/reply`, { text: 'x' });
      assert.equal(off.status, 409);
      assert.match(off.body.error.message, /workspace is switched off/);
    });
  });
});
