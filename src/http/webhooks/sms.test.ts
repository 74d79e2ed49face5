import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from '../../../simulator/server.js';
import { SmsGatewaySender, signedHeaders } from '../../channels/sms-http/api.js';
import type { DomainEvent } from '../../realtime/bus.js';
import { sealCredentials } from '../../store/channels.js';
import type { Store } from '../../store/open.js';
import { createProject, forEachStore, TEST_SECRET, testConfig } from '../../testing/harness.js';
import { buildApp } from '../app.js';

/**
 * `POST /webhooks/sms/{channelId}` end to end: the simulator plays the HTTP SMS gateway of
 * docs/SMS-GATEWAY.md and posts signed callbacks to the app listening on a real port; the app's
 * own sender talks to the same gateway. Each test asserts what is stored and what the bus carried.
 */

const SECRET = 'wspolny-sekret-bramki-0123456789';
const OUR_NUMBER = '+48221234567';
const CLIENT = '+48601234567';

type Counts = Record<'clients' | 'client_identities' | 'dialogs' | 'messages', number>;

async function counts(store: Store, projectId: number): Promise<Counts> {
  const out = {} as Counts;
  for (const t of ['clients', 'client_identities', 'dialogs', 'messages'] as const) {
    const r = await store.db
      .selectFrom(t)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    out[t] = Number(r.n);
  }
  return out;
}

async function insertChannel(store: Store, projectId: number, type: string, credentials: object) {
  const now = Date.now();
  const { id } = await store.db
    .insertInto('channels')
    .values({
      project_id: projectId,
      type,
      name: `${type} test`,
      webhook_secret: null,
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

async function insertNumber(
  store: Store,
  projectId: number,
  channelId: number,
  e164: string,
  opts: { smsEnabled?: boolean; outboundOnly?: boolean | null } = {},
) {
  const { id } = await store.db
    .insertInto('numbers')
    .values({
      project_id: projectId,
      channel_id: channelId,
      e164,
      sms_enabled: opts.smsEnabled === false ? 0 : 1,
      outbound_only: opts.outboundOnly === undefined || opts.outboundOnly === null ? null : opts.outboundOnly ? 1 : 0,
      created_at: Date.now(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

async function dialogsOf(store: Store, channelId: number, phone: string) {
  return store.db
    .selectFrom('dialogs')
    .innerJoin('client_identities', 'client_identities.id', 'dialogs.identity_id')
    .selectAll('dialogs')
    .where('dialogs.channel_id', '=', channelId)
    .where('client_identities.external_id', '=', phone)
    .orderBy('dialogs.id')
    .execute();
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
      author_name: 'Anna Manager',
      author_id: null,
      text: 'Tak, zapraszamy od 9 do 17.',
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

const messageOf = async (store: Store, id: number) =>
  store.db.selectFrom('messages').select(['status', 'failure_reason']).where('id', '=', id).executeTakeFirstOrThrow();

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
const parseBody = (text: string): any => JSON.parse(text);

forEachStore('HTTP SMS gateway webhook', (env) => {
  let sim: Simulator;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let base: string;
  let projectId: number;
  let channelId: number;
  let numberId: number;
  let overrideId: number;
  let url: string;
  const bus: DomainEvent[] = [];
  const store = () => env.ts.store;
  const snapshot = () => counts(store(), projectId);
  const gateway = () => sim.smsGateway;
  /** A signed POST with the exact bytes given (the gateway's signing, from our helpers). */
  const post = (body: string, headers: Record<string, string> = signedHeaders(SECRET, body, Date.now()), to = url) =>
    fetch(to, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  before(async () => {
    sim = await startSimulator({ retry: { attempts: 1, delayMs: 5 } });
    app = await buildApp({ config: testConfig(), store: store(), logger: false });
    await app.fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.fastify.server.address() as { port: number };
    base = `http://127.0.0.1:${port}`;
    app.app.bus.subscribe((e) => bus.push(e));
    projectId = await createProject(store(), 'sms gateway');
    channelId = await insertChannel(store(), projectId, 'sms-http', {
      sendUrl: `${sim.urls.smsGateway}/send`,
      secret: SECRET,
    });
    numberId = await insertNumber(store(), projectId, channelId, OUR_NUMBER);
    await insertNumber(store(), projectId, channelId, '+48221234568', { smsEnabled: false });
    await insertNumber(store(), projectId, channelId, '+48221234569', { outboundOnly: true });
    overrideId = await insertNumber(store(), projectId, channelId, '+48799100300', { outboundOnly: false });
    url = `${base}/webhooks/sms/${channelId}`;
    gateway().configure({ secret: SECRET, webhookUrl: url, receipts: null });
  });
  after(async () => {
    await app?.fastify.close();
    await sim?.close();
  });

  test('an SMS from a client: a new SMS dialog on our number, the message, the bus events', async () => {
    bus.length = 0;
    const d = await gateway().sendFromUser({
      from: '+48 601 234 567',
      to: OUR_NUMBER,
      text: 'Czy mogę odebrać osobiście?',
    });
    assert.equal(d.status, 200, d.body);
    assert.deepEqual(parseBody(d.body), { ok: true, results: ['stored'] });
    const [dialog, ...more] = await dialogsOf(store(), channelId, CLIENT);
    assert.ok(dialog);
    assert.equal(more.length, 0);
    assert.equal(dialog.status, 'new');
    assert.equal(dialog.channel_type, 'sms');
    assert.equal(dialog.number_id, numberId);
    assert.equal(dialog.client_phone, CLIENT);
    assert.equal(dialog.client_name, CLIENT);
    assert.equal(dialog.messages_in, 1);
    const msgs = await store().db.selectFrom('messages').selectAll().where('dialog_id', '=', dialog.id).execute();
    assert.deepEqual(
      msgs.map((m) => [m.direction, m.author_type, m.text, m.platform_message_id]),
      [['in', 'client', 'Czy mogę odebrać osobiście?', `mo:${String(d.event.id)}`]],
    );
    assert.deepEqual(bus, [
      { type: 'dialog.created', projectId, dialogId: dialog.id },
      { type: 'message.created', projectId, dialogId: dialog.id, messageId: msgs[0]!.id },
    ]);
  });

  test('the same SMS redelivered: 200 duplicate, stored once, no events', async () => {
    const [last] = gateway()
      .callbacks()
      .filter((c) => c.type === 'message')
      .slice(-1);
    const before = await snapshot();
    bus.length = 0;
    const d = await gateway().redeliver(String(last!.id));
    assert.equal(d.status, 200);
    assert.deepEqual(parseBody(d.body), { ok: true, results: ['duplicate'] });
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(bus, []);
  });

  test('a reply sent through the gateway is marked delivered by its status callback; failed keeps the reason', async () => {
    const [dialog] = await dialogsOf(store(), channelId, CLIENT);
    const sender = new SmsGatewaySender({ sendUrl: `${sim.urls.smsGateway}/send`, secret: SECRET });
    const target = { projectId, channelId, externalUserId: CLIENT, fromNumber: OUR_NUMBER };
    const ok = await sender.send(target, { messageId: 9001, text: 'Tak, zapraszamy od 9 do 17.' });
    const lost = await sender.send(target, { messageId: 9002, text: 'Do zobaczenia' });
    assert.ok(ok.platformMessageId && lost.platformMessageId);
    const delivered = await insertOutbound(store(), projectId, dialog!.id, channelId, ok.platformMessageId);
    const failed = await insertOutbound(store(), projectId, dialog!.id, channelId, lost.platformMessageId);

    bus.length = 0;
    const d = await gateway().delivered(ok.platformMessageId);
    assert.deepEqual(parseBody(d.body), { ok: true, results: ['stored'] });
    assert.equal((await messageOf(store(), delivered)).status, 'delivered');
    assert.deepEqual(bus, [{ type: 'message.status', projectId, dialogId: dialog!.id, messageId: delivered }]);

    await gateway().failed(lost.platformMessageId, 'absent subscriber');
    assert.deepEqual(await messageOf(store(), failed), { status: 'failed', failure_reason: 'absent subscriber' });

    // Statuses move forward only; an unknown id is acknowledged and changes nothing.
    const late = await gateway().failed(ok.platformMessageId, 'too late');
    assert.deepEqual(parseBody(late.body), { ok: true, results: ['ignored'] });
    assert.equal((await messageOf(store(), delivered)).status, 'delivered');
    const unknown = await gateway().delivered('gw_99999999');
    assert.deepEqual(parseBody(unknown.body), { ok: true, results: ['ignored'] });
  });

  test('a batch: stored in order, unknown types acknowledged and ignored', async () => {
    const d = await gateway().post({
      events: [
        {
          type: 'message',
          id: 'b-1',
          from: '+48602000001',
          to: OUR_NUMBER,
          text: 'Pierwsza',
          receivedAt: new Date().toISOString(),
        },
        { type: 'message', id: 'b-2', from: '+48602000001', to: OUR_NUMBER, text: 'Druga' },
        { type: 'keepalive' },
      ],
    });
    assert.equal(d.status, 200, d.body);
    assert.deepEqual(parseBody(d.body), { ok: true, results: ['stored', 'stored', 'ignored'] });
    const [dialog] = await dialogsOf(store(), channelId, '+48602000001');
    assert.equal(dialog?.messages_in, 2);
    const single = await gateway().post({ type: 'keepalive' });
    assert.deepEqual(parseBody(single.body), { ok: true, results: ['ignored'] });
  });

  test('forged, unsigned or wrong-secret requests → 401 and nothing stored; the gateway does not retry', async () => {
    const before = await snapshot();
    bus.length = 0;
    const body = JSON.stringify({
      type: 'message',
      id: 'f-1',
      from: '+48603000001',
      to: OUR_NUMBER,
      text: 'Fałszywka',
    });
    const headers = signedHeaders(SECRET, body, Date.now());
    const tampered = body.replace('Fałszywka', 'Podróbka!');
    for (const [b, h] of [
      [tampered, headers],
      [body, signedHeaders('another-secret-0123456789', body, Date.now())],
      [body, {}],
      [body, { 'x-dziennik-timestamp': headers['X-Dziennik-Timestamp'] }],
      [body, { ...headers, 'X-Dziennik-Signature': headers['X-Dziennik-Signature'].replace('sha256=', 'sha1=') }],
    ] as const) {
      const r = await post(b, h);
      assert.equal(r.status, 401);
      const err = parseBody(await r.text()).error;
      assert.equal(err.code, 'unauthenticated');
    }
    const unsigned = await gateway().post(JSON.parse(body), false);
    assert.equal(unsigned.status, 401);
    assert.equal(unsigned.attempts, 1);
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(bus, []);
  });

  test('a stale or future timestamp → 401 naming the clock, nothing stored', async () => {
    const before = await snapshot();
    const event = { type: 'message', id: 's-1', from: '+48603000002', to: OUR_NUMBER, text: 'Stara' };
    const now = Math.floor(Date.now() / 1000);
    for (const ts of [now - 310, now + 310]) {
      const d = await gateway().post(event, { timestampSeconds: ts });
      assert.equal(d.status, 401);
      assert.match(parseBody(d.body).error.message, /300 s away from our clock/);
    }
    assert.deepEqual(await snapshot(), before);
    assert.equal((await gateway().post(event, { timestampSeconds: now - 240 })).status, 200);
  });

  test('malformed JSON or a bad field → 400 naming it; invalid phone numbers; nothing of the batch stored', async () => {
    const before = await snapshot();
    const broken = await post('{"type":"message","id":');
    assert.equal(broken.status, 400);
    assert.deepEqual(parseBody(await broken.text()).error.fields, [{ field: 'body', message: 'is not JSON' }]);

    const national = await gateway().post({ type: 'message', id: 'p-1', from: '601234567', to: OUR_NUMBER, text: 'x' });
    assert.equal(national.status, 400);
    const err = parseBody(national.body).error;
    assert.equal(err.code, 'validation_failed');
    assert.deepEqual(
      err.fields.map((f: { field: string }) => f.field),
      ['body.from'],
    );
    assert.match(err.message, /body\.from: must be in international format/);

    const batch = await gateway().post({
      events: [
        { type: 'message', id: 'p-2', from: '+48603000003', to: OUR_NUMBER, text: 'Dobra' },
        { type: 'message', id: 'p-3', from: '+48603000003', to: '+4812', text: 'Zła' },
        { type: 'status', messageId: 'gw-1' },
      ],
    });
    assert.equal(batch.status, 400);
    assert.deepEqual(
      parseBody(batch.body).error.fields.map((f: { field: string }) => f.field),
      ['body.events.1.to', 'body.events.2.status'],
    );
    assert.equal(national.attempts, 1, 'a 400 is not retried');
    assert.deepEqual(await snapshot(), before);
  });

  test('to an outbound-only number (prefix or override) or one with SMS disabled → 422, nothing stored', async () => {
    const before = await snapshot();
    const sms = (to: string, id: string) => ({ type: 'message', id, from: '+48604000001', to, text: 'Odpowiedź' });
    for (const [to, words] of [
      ['+48799100200', /outbound-only/],
      ['+48221234569', /outbound-only/],
      ['+48221234568', /SMS is disabled/],
    ] as const) {
      const d = await gateway().post(sms(to, `o-${to}`));
      assert.equal(d.status, 422, to);
      const err = parseBody(d.body).error;
      assert.match(err.message, words);
      assert.deepEqual(err.fields, [{ field: 'body.to', message: err.message }]);
    }
    const inBatch = await gateway().post({ events: [sms(OUR_NUMBER, 'o-1'), sms('+48799100200', 'o-2')] });
    assert.equal(inBatch.status, 422);
    assert.equal(parseBody(inBatch.body).error.fields[0].field, 'body.events.1.to');
    assert.deepEqual(await snapshot(), before);

    // A 48799 number whose override says it can receive; a number we do not know is accepted without one.
    assert.equal((await gateway().post(sms('+48799100300', 'o-3'))).status, 200);
    assert.equal((await gateway().post(sms('+48225550000', 'o-4'))).status, 200);
    const dialogs = await dialogsOf(store(), channelId, '+48604000001');
    assert.equal(dialogs.length, 1);
    assert.equal(dialogs[0]!.number_id, overrideId);
  });

  test('an unknown, disabled or other-platform channel → 404 and nothing stored', async () => {
    const body = JSON.stringify({ type: 'message', id: 'd-1', from: '+48605000001', to: OUR_NUMBER, text: 'Halo' });
    const disabled = await insertChannel(store(), projectId, 'sms-http', {
      sendUrl: 'http://127.0.0.1:9/send',
      secret: SECRET,
    });
    await store().db.updateTable('channels').set({ enabled: 0 }).where('id', '=', disabled).execute();
    const telegram = await insertChannel(store(), projectId, 'telegram', { botToken: '1:x' });
    const before = await snapshot();
    for (const id of [disabled, telegram, 999_999, 'abc']) {
      const r = await post(body, undefined, `${base}/webhooks/sms/${id}`);
      assert.equal(r.status, 404, String(id));
    }
    assert.deepEqual(await snapshot(), before);
  });

  test('the route is in the OpenAPI document, without authentication', async () => {
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown }>>;
    };
    const op = doc.paths['/webhooks/sms/{channelId}']?.post;
    assert.deepEqual(op?.security, []);
    assert.ok(op?.requestBody, 'the callback body is documented');
  });
});
