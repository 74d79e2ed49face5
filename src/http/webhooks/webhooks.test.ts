import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { escapedJson } from '../../../simulator/messenger.js';
import { type Simulator, startSimulator } from '../../../simulator/server.js';
import type { DomainEvent } from '../../realtime/bus.js';
import { sealCredentials } from '../../store/channels.js';
import type { Store } from '../../store/open.js';
import { createProject, forEachStore, TEST_SECRET, testConfig } from '../../testing/harness.js';
import { buildApp } from '../app.js';

/**
 * The platform webhooks end to end: the simulator plays Telegram, Viber and Messenger, registers
 * our webhook URLs through its platform APIs as our channel set-up does, and posts signed events
 * to the app listening on a real port. Each test asserts what is stored and what the bus carried.
 */

type Counts = Record<'clients' | 'client_identities' | 'dialogs' | 'messages' | 'inbound_events', number>;

async function counts(store: Store, projectId: number): Promise<Counts> {
  const out = {} as Counts;
  for (const t of ['clients', 'client_identities', 'dialogs', 'messages', 'inbound_events'] as const) {
    const r = await store.db
      .selectFrom(t)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    out[t] = Number(r.n);
  }
  return out;
}

async function insertChannel(
  store: Store,
  projectId: number,
  type: 'telegram' | 'viber' | 'messenger',
  credentials: object,
  webhookSecret: string | null = null,
) {
  const now = Date.now();
  const { id } = await store.db
    .insertInto('channels')
    .values({
      project_id: projectId,
      type,
      name: `${type} test`,
      webhook_secret: webhookSecret,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await store.db
    .updateTable('channels')
    .set({ credentials: sealCredentials(TEST_SECRET, projectId, id, credentials) })
    .where('id', '=', id)
    .execute();
  return id;
}

async function addVisit(store: Store, projectId: number, token: string, utmSource: string) {
  const now = Date.now();
  const { id } = await store.db
    .insertInto('visits')
    .values({
      project_id: projectId,
      token,
      utm_source: utmSource,
      utm_medium: 'cpc',
      utm_campaign: 'wiosna-2026',
      utm_term: null,
      utm_content: null,
      referrer: null,
      landing_url: 'https://sklep.example.pl/?utm_source=x',
      ga_client_id: null,
      click_ids: null,
      channel_group: 'Paid Search',
      messenger: null,
      created_at: now,
      expires_at: now + 3_600_000,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

async function dialogOf(store: Store, channelId: number, externalId: string) {
  return store.db
    .selectFrom('dialogs')
    .innerJoin('client_identities', 'client_identities.id', 'dialogs.identity_id')
    .selectAll('dialogs')
    .select(['client_identities.unreachable', 'client_identities.unreachable_reason'])
    .where('dialogs.channel_id', '=', channelId)
    .where('client_identities.external_id', '=', externalId)
    .orderBy('dialogs.id')
    .execute();
}

async function messagesOfDialog(store: Store, dialogId: number) {
  return store.db.selectFrom('messages').selectAll().where('dialog_id', '=', dialogId).orderBy('id').execute();
}

async function insertOutbound(store: Store, projectId: number, dialogId: number, channelId: number, pid: string) {
  const now = Date.now() - 1000;
  const { id } = await store.db
    .insertInto('messages')
    .values({
      project_id: projectId,
      dialog_id: dialogId,
      channel_id: channelId,
      direction: 'out',
      author_type: 'manager',
      author_id: null,
      author_name: 'Anna Manager',
      text: 'Dzień dobry!',
      attachments: null,
      created_at: now,
      status: 'sent',
      failure_reason: null,
      platform_message_id: pid,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

async function statusOf(store: Store, messageId: number) {
  return (await store.db.selectFrom('messages').select('status').where('id', '=', messageId).executeTakeFirstOrThrow())
    .status;
}

const post = (url: string, body: string | Buffer, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
const json = async (r: Response): Promise<any> => r.json();

forEachStore('platform webhooks', (env) => {
  let sim: Simulator;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let base: string;
  let projectId: number;
  const bus: DomainEvent[] = [];
  const store = () => env.ts.store;
  const snapshot = () => counts(store(), projectId);

  before(async () => {
    sim = await startSimulator({ retry: { attempts: 1, delayMs: 5 } });
    const config = testConfig({
      TELEGRAM_API_URL: sim.urls.telegram,
      VIBER_API_URL: sim.urls.viber,
      GRAPH_API_URL: sim.urls.graph,
    });
    app = await buildApp({ config, store: store(), logger: false });
    await app.fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.fastify.server.address() as { port: number };
    base = `http://127.0.0.1:${port}`;
    app.app.bus.subscribe((e) => bus.push(e));
    projectId = await createProject(store(), 'webhooks');
  });
  after(async () => {
    await app?.fastify.close();
    await sim?.close();
  });

  describe('Telegram', () => {
    const TOKEN = '7012345678:AAE-telegram-test-token';
    const SECRET = 'dz_tg-secret_0123456789';
    const anna = { userId: 501, firstName: 'Anna', lastName: 'Nowak', username: 'anna_n' };
    let channelId: number;
    let url: string;

    before(async () => {
      sim.telegram.createBot({ token: TOKEN, username: 'sklep_bot' });
      channelId = await insertChannel(store(), projectId, 'telegram', { botToken: TOKEN }, SECRET);
      url = `${base}/webhooks/telegram/${channelId}`;
      // What channel set-up does: setWebhook with a generated secret_token.
      const r = await post(
        `${sim.urls.telegram}/bot${TOKEN}/setWebhook`,
        JSON.stringify({ url, secret_token: SECRET }),
      );
      assert.deepEqual(await r.json(), { ok: true, result: true, description: 'Webhook was set' });
    });

    test('a user writes: a new dialog with the name from first/last name, the message, and the bus events', async () => {
      bus.length = 0;
      const d = await sim.telegram.sendFromUser(TOKEN, { ...anna, text: 'Dzień dobry, gdzie moja paczka?' });
      assert.equal(d.status, 200);
      const [dialog, ...more] = await dialogOf(store(), channelId, '501');
      assert.ok(dialog);
      assert.equal(more.length, 0);
      assert.equal(dialog.status, 'new');
      assert.equal(dialog.client_name, 'Anna Nowak');
      assert.equal(dialog.client_handle, '@anna_n');
      assert.equal(dialog.channel_type, 'telegram');
      assert.equal(dialog.messages_in, 1);
      assert.equal(dialog.unread_count, 1);
      assert.equal(dialog.last_responder_type, 'client');
      const msgs = await messagesOfDialog(store(), dialog.id);
      assert.deepEqual(
        msgs.map((m) => [m.direction, m.author_type, m.text, m.platform_message_id]),
        [
          [
            'in',
            'client',
            'Dzień dobry, gdzie moja paczka?',
            `501:${(d.event.message as { message_id: number }).message_id}`,
          ],
        ],
      );
      assert.deepEqual(bus, [
        { type: 'dialog.created', projectId, dialogId: dialog.id },
        { type: 'message.created', projectId, dialogId: dialog.id, messageId: msgs[0]!.id },
      ]);
    });

    test('the same update redelivered: 200, still one message, no events', async () => {
      const [update] = sim.telegram.updates(TOKEN).slice(-1);
      const before = await snapshot();
      bus.length = 0;
      const d = await sim.telegram.redeliver(TOKEN, update!.update_id);
      assert.equal(d.status, 200);
      assert.deepEqual(await snapshot(), before);
      assert.deepEqual(bus, []);
    });

    test('/start <visit token> attributes the dialog; an unknown token opens it without a source', async () => {
      const visitId = await addVisit(store(), projectId, 'vt_tg_spring', 'facebook');
      const d = await sim.telegram.start(TOKEN, { userId: 502, firstName: 'Bartek' }, 'vt_tg_spring');
      assert.equal(d.status, 200);
      const [dialog] = await dialogOf(store(), channelId, '502');
      assert.equal(dialog?.visit_id, visitId);
      assert.equal(dialog?.utm_source, 'facebook');
      assert.equal(dialog?.utm_medium, 'cpc');
      assert.equal(dialog?.utm_campaign, 'wiosna-2026');
      assert.equal(dialog?.source, 'facebook');
      assert.equal(dialog?.channel_group, 'Paid Search');
      assert.equal(dialog?.status, 'new');

      assert.equal((await sim.telegram.start(TOKEN, { userId: 503, firstName: 'Celina' }, 'vt_unknown')).status, 200);
      const [plain] = await dialogOf(store(), channelId, '503');
      assert.ok(plain, 'the dialog opens');
      assert.equal(plain.visit_id, null);
      assert.equal(plain.source, null);
      assert.equal(plain.utm_source, null);
    });

    test('after the dialog is closed, the next message opens a new one (R7)', async () => {
      const [first] = await dialogOf(store(), channelId, '501');
      await store()
        .db.updateTable('dialogs')
        .set({ status: 'closed', closed_at: Date.now() })
        .where('id', '=', first!.id)
        .execute();
      assert.equal((await sim.telegram.sendFromUser(TOKEN, { ...anna, text: 'To znowu ja' })).status, 200);
      const dialogs = await dialogOf(store(), channelId, '501');
      assert.deepEqual(
        dialogs.map((d) => [d.status, d.messages_in]),
        [
          ['closed', 1],
          ['new', 1],
        ],
      );
      assert.equal(dialogs[1]?.client_id, first?.client_id);
    });

    test('the user blocks the bot: the identity is marked unreachable', async () => {
      assert.equal((await sim.telegram.blockBot(TOKEN, 501)).status, 200);
      const [d] = (await dialogOf(store(), channelId, '501')).slice(-1);
      assert.equal(d?.unreachable, 1);
      assert.equal(d?.unreachable_reason, 'blocked');
      assert.equal((await sim.telegram.unblockBot(TOKEN, 501)).status, 200);
      assert.equal((await dialogOf(store(), channelId, '501')).at(-1)?.unreachable, 0);
    });

    test('forged requests (wrong secret, none, a guessed prefix) answer 401 and store nothing', async () => {
      const body = JSON.stringify({
        update_id: 555_000_001,
        message: {
          message_id: 1,
          from: { id: 666, is_bot: false, first_name: 'Mallory' },
          chat: { id: 666, first_name: 'Mallory', type: 'private' },
          date: Math.floor(Date.now() / 1000),
          text: 'forged',
        },
      });
      const before = await snapshot();
      const forged: Record<string, string>[] = [
        { 'x-telegram-bot-api-secret-token': 'dz_tg-secret_0123456780' },
        {},
        { 'x-telegram-bot-api-secret-token': SECRET.slice(0, 10) },
      ];
      for (const headers of forged) {
        const r = await post(url, body, headers);
        assert.equal(r.status, 401);
        assert.equal((await json(r)).error.code, 'unauthenticated');
      }
      assert.deepEqual(await snapshot(), before);
    });

    test('ten identical updates at once store exactly one message', async () => {
      const body = JSON.stringify({
        update_id: 555_000_100,
        message: {
          message_id: 7,
          from: { id: 504, is_bot: false, first_name: 'Dorota' },
          chat: { id: 504, first_name: 'Dorota', type: 'private' },
          date: Math.floor(Date.now() / 1000),
          text: 'raz',
        },
      });
      const statuses = await Promise.all(
        Array.from({ length: 10 }, () =>
          post(url, body, { 'x-telegram-bot-api-secret-token': SECRET }).then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          }),
        ),
      );
      assert.deepEqual(statuses, Array(10).fill(200));
      const dialogs = await dialogOf(store(), channelId, '504');
      assert.equal(dialogs.length, 1);
      assert.equal((await messagesOfDialog(store(), dialogs[0]!.id)).length, 1);
      assert.equal(dialogs[0]?.messages_in, 1);
    });

    test('malformed JSON → 400, unknown update → 200, oversized → 413; the app keeps serving', async () => {
      const h = { 'x-telegram-bot-api-secret-token': SECRET };
      const before = await snapshot();
      const bad = await post(url, '{"update_id": 1, "message": {', h);
      assert.equal(bad.status, 400);
      assert.equal((await json(bad)).error.code, 'validation_failed');
      assert.equal((await post(url, '', h)).status, 400);
      const poll = await post(url, JSON.stringify({ update_id: 555_000_200, poll: { id: 'p1' } }), h);
      assert.equal(poll.status, 200);
      const big = await post(url, JSON.stringify({ update_id: 1, pad: 'x'.repeat(300 * 1024) }), h);
      assert.equal(big.status, 413);
      assert.deepEqual(await snapshot(), before);
      assert.equal(
        (await sim.telegram.sendFromUser(TOKEN, { userId: 505, firstName: 'Ewa', text: 'ok?' })).status,
        200,
      );
      assert.equal((await dialogOf(store(), channelId, '505')).length, 1);
    });
  });

  describe('Viber', () => {
    const AUTH = '4a1b2c3d4e5f6a7b-8c9d0e1f2a3b4c5d-6e7f8a9b0c1d2e3f';
    let channelId: number;
    let url: string;
    const sign = (body: Buffer, key = AUTH) => createHmac('sha256', key).update(body).digest('hex');

    before(async () => {
      sim.viber.createAccount({ authToken: AUTH, uri: 'sklepviber', name: 'Sklep' });
      channelId = await insertChannel(store(), projectId, 'viber', { authToken: AUTH });
      url = `${base}/webhooks/viber/${channelId}`;
    });

    test('set_webhook: Viber’s signed check gets 200 and stores nothing', async () => {
      const before = await snapshot();
      const r = await post(`${sim.urls.viber}/set_webhook`, JSON.stringify({ url }), { 'X-Viber-Auth-Token': AUTH });
      const answer = await json(r);
      assert.equal(answer.status, 0, JSON.stringify(answer));
      assert.deepEqual(await snapshot(), before);
    });

    test('a message: dialog with the sender’s name; the 64-bit message_token kept exactly', async () => {
      bus.length = 0;
      const d = await sim.viber.sendFromUser(AUTH, {
        userId: 'vU1+abc==',
        name: 'Małgorzata Kowalczyk',
        text: 'Cześć!',
      });
      assert.equal(d.status, 200);
      const [dialog] = await dialogOf(store(), channelId, 'vU1+abc==');
      assert.equal(dialog?.client_name, 'Małgorzata Kowalczyk');
      assert.equal(dialog?.channel_type, 'viber');
      const [m] = await messagesOfDialog(store(), dialog!.id);
      assert.equal(m?.text, 'Cześć!');
      assert.equal(m?.platform_message_id, String(d.event.message_token));
      assert.ok(BigInt(m!.platform_message_id!) > BigInt(Number.MAX_SAFE_INTEGER));
      assert.deepEqual(
        bus.map((e) => e.type),
        ['dialog.created', 'message.created'],
      );
    });

    test('conversation_started with context attaches the visit', async () => {
      const visitId = await addVisit(store(), projectId, 'vt_vb_ctx', 'newsletter');
      const d = await sim.viber.conversationStarted(AUTH, {
        userId: 'vU2==',
        name: 'Jan Zieliński',
        context: 'vt_vb_ctx',
      });
      assert.equal(d.status, 200);
      const [dialog] = await dialogOf(store(), channelId, 'vU2==');
      assert.equal(dialog?.visit_id, visitId);
      assert.equal(dialog?.utm_source, 'newsletter');
      assert.equal(dialog?.client_name, 'Jan Zieliński');
      // No welcome message is answered.
      assert.deepEqual(
        sim.viber.sent(AUTH).filter((s) => s.kind === 'welcome'),
        [],
      );
    });

    test('delivered and seen receipts move our message to delivered, then read', async () => {
      const [dialog] = await dialogOf(store(), channelId, 'vU1+abc==');
      // Sent the way the outbound worker does; the token read from the raw answer.
      const r = await post(
        `${sim.urls.viber}/send_message`,
        JSON.stringify({ receiver: 'vU1+abc==', type: 'text', text: 'Dzień dobry!', sender: { name: 'Sklep' } }),
        { 'X-Viber-Auth-Token': AUTH },
      );
      const token = /"message_token"\s*:\s*(\d+)/.exec(await r.text())?.[1];
      assert.ok(token);
      const id = await insertOutbound(store(), projectId, dialog!.id, channelId, token);
      bus.length = 0;
      assert.equal((await sim.viber.delivered(AUTH, BigInt(token))).status, 200);
      assert.equal(await statusOf(store(), id), 'delivered');
      assert.equal((await sim.viber.seen(AUTH, BigInt(token))).status, 200);
      assert.equal(await statusOf(store(), id), 'read');
      assert.deepEqual(bus, [
        { type: 'message.status', projectId, dialogId: dialog!.id, messageId: id },
        { type: 'message.status', projectId, dialogId: dialog!.id, messageId: id },
      ]);
    });

    test('unsubscribed marks the client unreachable', async () => {
      assert.equal((await sim.viber.unsubscribe(AUTH, 'vU1+abc==')).status, 200);
      const [d] = await dialogOf(store(), channelId, 'vU1+abc==');
      assert.equal(d?.unreachable, 1);
      assert.equal(d?.unreachable_reason, 'unsubscribed');
      assert.equal(
        (await sim.viber.subscribe(AUTH, { userId: 'vU1+abc==', name: 'Małgorzata Kowalczyk' })).status,
        200,
      );
      assert.equal((await dialogOf(store(), channelId, 'vU1+abc=='))[0]?.unreachable, 0);
    });

    test('forged callbacks (tampered body, wrong key, no header) → 401; malformed signed JSON → 400', async () => {
      const body = Buffer.from(
        '{"event":"message","timestamp":1457764197627,"message_token":5912661846655238145,"sender":{"id":"evil==","name":"Eve"},"message":{"type":"text","text":"hi"}}',
      );
      const before = await snapshot();
      const tampered = Buffer.from(body.toString().replace('"hi"', '"ho"'));
      for (const [b, headers] of [
        [tampered, { 'x-viber-content-signature': sign(body) }],
        [body, { 'x-viber-content-signature': sign(body, 'not-the-token') }],
        [body, {}],
      ] as const) {
        assert.equal((await post(url, b, headers)).status, 401);
      }
      const broken = Buffer.from('{"event":"message",');
      assert.equal((await post(url, broken, { 'x-viber-content-signature': sign(broken) })).status, 400);
      assert.deepEqual(await snapshot(), before);
      // The genuine one goes through.
      assert.equal((await post(url, body, { 'x-viber-content-signature': sign(body) })).status, 200);
      assert.equal((await dialogOf(store(), channelId, 'evil==')).length, 1);
    });
  });

  describe('Messenger', () => {
    const PAGE = '104857600000002';
    const PAGE_TOKEN = 'EAAGpagetoken0123456789';
    const APP_SECRET = 'f00dfacecafe0123456789abcdef0123';
    const VERIFY = 'dz-verify-token-42';
    let channelId: number;
    let url: string;
    const sign = (body: Buffer, key = APP_SECRET) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

    before(async () => {
      const page = sim.messenger.createPage({ pageId: PAGE, pageAccessToken: PAGE_TOKEN, appSecret: APP_SECRET });
      channelId = await insertChannel(store(), projectId, 'messenger', {
        pageId: PAGE,
        pageAccessToken: PAGE_TOKEN,
        appSecret: APP_SECRET,
        verifyToken: VERIFY,
      });
      url = `${base}/webhooks/messenger/${channelId}`;
      // The app subscription through the Graph API: Meta runs the verification GET against us.
      const r = await post(
        `${sim.urls.graph}/${page.appId}/subscriptions?access_token=${encodeURIComponent(page.appAccessToken)}`,
        JSON.stringify({
          object: 'page',
          callback_url: url,
          verify_token: VERIFY,
          fields: 'messages,messaging_postbacks,messaging_referrals,message_deliveries,message_reads,message_echoes',
        }),
      );
      assert.deepEqual(await r.json(), { success: true });
    });

    test('the verification GET: challenge as text/plain for our token, 403 otherwise', async () => {
      const ok = await fetch(`${url}?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=987654321`);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type') ?? '', /^text\/plain/);
      assert.equal(await ok.text(), '987654321');
      const wrong = await fetch(`${url}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`);
      assert.equal(wrong.status, 403);
      assert.equal((await fetch(`${url}?hub.challenge=1`)).status, 403);
    });

    test('a Polish message (\\u-escaped and signed by Meta) with the name from the Graph API', async () => {
      const text = 'Zażółć gęślą jaźń — ile kosztuje dostawa?';
      bus.length = 0;
      const d = await sim.messenger.sendFromUser(PAGE, {
        psid: 'psid-1',
        firstName: 'Łucja',
        lastName: 'Wójcik',
        text,
      });
      assert.equal(d.status, 200);
      const [dialog] = await dialogOf(store(), channelId, 'psid-1');
      assert.equal(dialog?.client_name, 'Łucja Wójcik');
      assert.equal(dialog?.channel_type, 'messenger');
      const [m] = await messagesOfDialog(store(), dialog!.id);
      assert.equal(m?.text, text);
      assert.deepEqual(
        bus.map((e) => e.type),
        ['dialog.created', 'message.created'],
      );
      // Redelivered byte for byte: acknowledged, nothing new.
      const before = await snapshot();
      assert.equal((await sim.messenger.redeliver(PAGE, d.event)).status, 200);
      assert.deepEqual(await snapshot(), before);
    });

    test('echoes never become inbound messages; delivery and read receipts update our message', async () => {
      const [dialog] = await dialogOf(store(), channelId, 'psid-1');
      const before = await snapshot();
      assert.equal((await sim.messenger.echo(PAGE, 'psid-1', 'Odpowiedź ze skrzynki strony')).status, 200);
      // Our reply through the Send API (its echo comes back too).
      const r = await post(
        `${sim.urls.graph}/me/messages?access_token=${PAGE_TOKEN}`,
        JSON.stringify({ recipient: { id: 'psid-1' }, messaging_type: 'RESPONSE', message: { text: 'Dostawa 15 zł' } }),
      );
      const { message_id: mid } = (await r.json()) as { message_id: string };
      const id = await insertOutbound(store(), projectId, dialog!.id, channelId, mid);
      assert.equal((await sim.messenger.delivered(PAGE, 'psid-1', [mid])).status, 200);
      assert.equal(await statusOf(store(), id), 'delivered');
      assert.equal((await sim.messenger.read(PAGE, 'psid-1')).status, 200);
      assert.equal(await statusOf(store(), id), 'read');
      const after = await snapshot();
      assert.equal(after.messages, before.messages + 1, 'only the row we inserted');
      assert.equal((await messagesOfDialog(store(), dialog!.id)).filter((m) => m.direction === 'in').length, 1);
    });

    test('a referral (m.me link with ref) attaches the visit; a failed profile look-up keeps the PSID', async () => {
      const visitId = await addVisit(store(), projectId, 'vt_fb_ref', 'instagram');
      const d = await sim.messenger.referral(PAGE, {
        psid: 'psid-2',
        firstName: 'Adam',
        lastName: 'Mały',
        ref: 'vt_fb_ref',
      });
      assert.equal(d.status, 200);
      const [dialog] = await dialogOf(store(), channelId, 'psid-2');
      assert.equal(dialog?.visit_id, visitId);
      assert.equal(dialog?.utm_source, 'instagram');
      assert.equal(dialog?.client_name, 'Adam Mały');
      // A person the Graph API does not know: the message is stored under the PSID.
      const unknown = await sim.messenger.post(PAGE, [
        {
          sender: { id: 'psid-ghost' },
          recipient: { id: PAGE },
          timestamp: Date.now(),
          message: { mid: 'm_ghost-1', text: 'hej' },
        },
      ]);
      assert.equal(unknown.status, 200);
      const [ghost] = await dialogOf(store(), channelId, 'psid-ghost');
      assert.equal(ghost?.client_name, 'psid-ghost');
      assert.equal(ghost?.messages_in, 1);
    });

    test('forged payloads → 401 (re-serialised \\u00f3, tampered, wrong secret, no header); nothing stored', async () => {
      const payload = {
        object: 'page',
        entry: [
          {
            id: PAGE,
            time: Date.now(),
            messaging: [
              {
                sender: { id: 'psid-evil' },
                recipient: { id: PAGE },
                timestamp: Date.now(),
                message: { mid: 'm_evil-1', text: 'Dzień dobry, płatność przelewem?' },
              },
            ],
          },
        ],
      };
      const body = Buffer.from(escapedJson(payload));
      assert.ok(body.toString().includes('\\u0142'));
      const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString())));
      const tampered = Buffer.from(body.toString().replace('przelewem', 'gotowka!!'));
      const before = await snapshot();
      for (const [b, headers] of [
        [reserialised, { 'x-hub-signature-256': sign(body) }],
        [tampered, { 'x-hub-signature-256': sign(body) }],
        [body, { 'x-hub-signature-256': sign(body, 'other-app-secret') }],
        [body, { 'x-hub-signature': sign(body) }],
        [body, {}],
      ] as const) {
        const r = await post(url, b, headers);
        assert.equal(r.status, 401);
      }
      const broken = Buffer.from('{"object":"page","entry":[');
      assert.equal((await post(url, broken, { 'x-hub-signature-256': sign(broken) })).status, 400);
      assert.deepEqual(await snapshot(), before);
      assert.equal((await post(url, body, { 'x-hub-signature-256': sign(body) })).status, 200);
      const [d] = await dialogOf(store(), channelId, 'psid-evil');
      assert.equal((await messagesOfDialog(store(), d!.id))[0]?.text, 'Dzień dobry, płatność przelewem?');
    });
  });

  describe('channels', () => {
    test('unknown, removed or other-platform channels → 404 and nothing stored', async () => {
      const secret = 'dz_removed-secret';
      const removed = await insertChannel(store(), projectId, 'telegram', { botToken: '1:x' }, secret);
      await store().db.updateTable('channels').set({ enabled: 0 }).where('id', '=', removed).execute();
      const viber = (
        await store()
          .db.selectFrom('channels')
          .select('id')
          .where('type', '=', 'viber')
          .where('project_id', '=', projectId)
          .executeTakeFirstOrThrow()
      ).id;
      const body = JSON.stringify({
        update_id: 1,
        message: {
          message_id: 1,
          from: { id: 9, is_bot: false, first_name: 'X' },
          chat: { id: 9, type: 'private' },
          date: 1,
          text: 'x',
        },
      });
      const h = { 'x-telegram-bot-api-secret-token': secret };
      const before = await snapshot();
      for (const path of [
        `/webhooks/telegram/${removed}`,
        '/webhooks/telegram/999999999',
        '/webhooks/telegram/abc',
        `/webhooks/telegram/${viber}`,
        `/webhooks/messenger/${viber}`,
      ]) {
        const r = await post(`${base}${path}`, body, h);
        assert.equal(r.status, 404, path);
        assert.equal((await json(r)).error.code, 'not_found');
      }
      assert.equal((await fetch(`${base}/webhooks/messenger/${removed}?hub.mode=subscribe`)).status, 404);
      assert.deepEqual(await snapshot(), before);
    });

    test('our own failure (credentials that do not open) → 500, so the platform retries', async () => {
      const id = await insertChannel(store(), projectId, 'viber', { authToken: 'x' });
      // Sealed for another channel: opening them fails, as with a changed SECRET_KEY.
      await store()
        .db.updateTable('channels')
        .set({ credentials: sealCredentials(TEST_SECRET, projectId, id + 1, { authToken: 'x' }) })
        .where('id', '=', id)
        .execute();
      const before = await snapshot();
      const r = await post(`${base}/webhooks/viber/${id}`, '{"event":"webhook"}', {
        'x-viber-content-signature': 'ab',
      });
      assert.equal(r.status, 500);
      assert.equal((await json(r)).error.code, 'internal_error');
      assert.deepEqual(await snapshot(), before);
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
    });

    test('the webhooks are in the OpenAPI document, without authentication', async () => {
      const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as {
        paths: Record<string, Record<string, { security?: unknown[] }>>;
      };
      for (const [path, method] of [
        ['/webhooks/telegram/{channelId}', 'post'],
        ['/webhooks/viber/{channelId}', 'post'],
        ['/webhooks/messenger/{channelId}', 'get'],
        ['/webhooks/messenger/{channelId}', 'post'],
      ] as const) {
        assert.deepEqual(doc.paths[path]?.[method]?.security, [], `${method} ${path}`);
      }
    });
  });
});
