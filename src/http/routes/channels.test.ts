import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { type Simulator, startSimulator } from '../../../simulator/server.js';
import { type Receiver, startReceiver } from '../../../simulator/test-receiver.js';
import type { Store } from '../../store/open.js';
import { createChannel as insertChannelRow } from '../../testing/fixtures.js';
import { createProject, createToken, forEachStore, TEST_SECRET, testConfig } from '../../testing/harness.js';
import { buildApp } from '../app.js';

/**
 * Channels and numbers over HTTP, against the platform simulator: admins connect channels and the
 * platform ends up calling our webhook; refusals come back in the platform's words with nothing
 * kept; credentials never leave in full; managers and supervisors read but cannot change.
 */

type Headers = Record<string, string>;
const token = (id: number, fill: string) => `${id}:${fill.repeat(35).slice(0, 35)}`;

forEachStore('channels and numbers over HTTP', (env) => {
  let sim: Simulator;
  let receiver: Receiver;
  let store: Store;
  let app: FastifyInstance;
  let publicUrl: string;
  let projectId: number;
  let otherProjectId: number;
  const as = {} as Record<'admin' | 'supervisor' | 'manager' | 'foreignAdmin', Headers>;
  const base = () => `/api/v1/projects/${projectId}`;

  const call = (h: Headers, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
    app.inject({
      method,
      url,
      headers: h,
      ...(method === 'GET' || method === 'DELETE' ? {} : { payload: payload ?? {} }),
    });
  const errorOf = (res: LightMyRequestResponse) =>
    (res.json() as { error: { code: string; message: string; fields?: { field: string; message: string }[] } }).error;
  const dump = async () =>
    JSON.stringify({
      channels: await store.db.selectFrom('channels').selectAll().orderBy('id').execute(),
      numbers: await store.db.selectFrom('numbers').selectAll().orderBy('id').execute(),
      audit: await store.db.selectFrom('audit_log').selectAll().orderBy('id').execute(),
    });

  before(async () => {
    store = env.ts.store;
    sim = await startSimulator({ retry: { attempts: 1, delayMs: 5, timeoutMs: 2000 } });
    // Stands in for our webhook routes, which the platforms call during registration.
    receiver = await startReceiver((r) =>
      r.method === 'GET' ? { status: 200, body: r.url.searchParams.get('hub.challenge') ?? '' } : { status: 200 },
    );
    publicUrl = new URL(receiver.url).origin;
    app = (
      await buildApp({
        config: {
          ...testConfig({
            TELEGRAM_API_URL: sim.urls.telegram,
            VIBER_API_URL: sim.urls.viber,
            GRAPH_API_URL: sim.urls.graph,
            PUBLIC_URL: publicUrl,
          }),
          secretKey: TEST_SECRET,
        },
        store,
        logger: false,
      })
    ).fastify;
    projectId = await createProject(store, 'Rowery');
    otherProjectId = await createProject(store, 'Inny');
    for (const role of ['admin', 'supervisor', 'manager'] as const) {
      as[role] = { authorization: `Bearer ${await createToken(store, projectId, role)}` };
    }
    as.foreignAdmin = { authorization: `Bearer ${await createToken(store, otherProjectId, 'admin')}` };
  });
  after(async () => {
    await app?.close();
    await receiver?.close();
    await sim?.close();
  });

  test('an admin connects a Telegram bot: 201, masked, the simulator has our webhook and secret', async () => {
    const botToken = token(800001, 'Ab9_-');
    sim.telegram.createBot({ token: botToken, username: 'sklep_bot' });
    const res = await call(as.admin, 'POST', `${base()}/channels`, {
      type: 'telegram',
      name: 'Sklep',
      credentials: { botToken },
    });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json() as { id: number; credentials: { botToken: string }; webhookUrl: string; link: string };
    assert.equal(body.credentials.botToken, `••••${botToken.slice(-4)}`);
    assert.ok(!res.body.includes(botToken));
    assert.equal(body.webhookUrl, `${publicUrl}/webhooks/telegram/${body.id}`);
    assert.equal(body.link, 'https://t.me/sklep_bot');
    const hook = sim.telegram.webhook(botToken);
    assert.equal(hook?.url, body.webhookUrl);
    const row = await store.db
      .selectFrom('channels')
      .select('webhook_secret')
      .where('id', '=', body.id)
      .executeTakeFirstOrThrow();
    assert.equal(hook?.secretToken, row.webhook_secret);
    assert.ok(!(await dump()).includes(botToken), 'the raw token is nowhere in the database');
  });

  test("a token Telegram refuses → 400 with Telegram's 401 text on body.credentials.botToken; no row", async () => {
    const before = await dump();
    const res = await call(as.admin, 'POST', `${base()}/channels`, {
      type: 'telegram',
      credentials: { botToken: token(800099, 'n') },
    });
    assert.equal(res.statusCode, 400, res.body);
    const error = errorOf(res);
    assert.equal(error.code, 'validation_failed');
    assert.deepEqual(error.fields, [
      { field: 'body.credentials.botToken', message: 'Telegram refused it: Unauthorized (error 401)' },
    ]);
    assert.equal(await dump(), before);
  });

  test('the platform refuses the webhook → 502 platform_error in its words, and nothing is kept', async () => {
    const botToken = token(800002, 'w');
    sim.telegram.createBot({ token: botToken, username: 'zly_hook_bot' });
    sim.telegram.failNext(
      {
        kind: 'error',
        status: 400,
        description: 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook',
      },
      { method: 'setWebhook' },
    );
    const before = await dump();
    const res = await call(as.admin, 'POST', `${base()}/channels`, { type: 'telegram', credentials: { botToken } });
    assert.equal(res.statusCode, 502, res.body);
    assert.equal(errorOf(res).code, 'platform_error');
    assert.match(errorOf(res).message, /An HTTPS URL must be provided for webhook \(error 400\)/);
    assert.equal(await dump(), before);
  });

  test('Telegram flood control → 502 with Retry-After', async () => {
    const botToken = token(800003, 'f');
    sim.telegram.createBot({ token: botToken, username: 'flood_bot' });
    sim.telegram.failNext({ kind: 'rateLimit', retryAfter: 7 }, { method: 'getMe' });
    const res = await call(as.admin, 'POST', `${base()}/channels`, { type: 'telegram', credentials: { botToken } });
    assert.equal(res.statusCode, 502, res.body);
    assert.equal(res.headers['retry-after'], '7');
    assert.match(errorOf(res).message, /Too Many Requests: retry after 7/);
  });

  test('Viber and Messenger connect; every secret is masked in every response', async () => {
    const authToken = '5a1b2c3d4e5f6a7b-8c9d0e1f2a3b4c5d-6e7f8a9b0c1d2e3f';
    sim.viber.createAccount({ authToken, uri: 'sklep', name: 'Sklep' });
    const viber = await call(as.admin, 'POST', `${base()}/channels`, { type: 'viber', credentials: { authToken } });
    assert.equal(viber.statusCode, 201, viber.body);
    assert.equal(sim.viber.webhook(authToken)?.url, `${publicUrl}/webhooks/viber/${viber.json().id}`);

    const appSecret = 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6';
    const pageAccessToken = 'EAAGsklepPageToken1234567890';
    sim.messenger.createPage({ pageId: '105000000000001', pageAccessToken, appSecret, name: 'Sklep' });
    const page = await call(as.admin, 'POST', `${base()}/channels`, {
      type: 'messenger',
      credentials: { pageId: 105000000000001, pageAccessToken, appSecret, verifyToken: 'sprawdz-to-2026' },
    });
    assert.equal(page.statusCode, 201, page.body);
    assert.equal(page.json().credentials.pageId, '105000000000001');
    const list = await call(as.admin, 'GET', `${base()}/channels`);
    assert.equal(list.statusCode, 200);
    for (const secret of [authToken, appSecret, pageAccessToken, 'sprawdz-to-2026']) {
      assert.ok(!list.body.includes(secret), `${secret} leaked`);
      assert.ok(!(await dump()).includes(secret), `${secret} stored in clear`);
    }
    assert.equal(page.json().credentials.appSecret, '••••c5d6');
  });

  test('validation names every bad field', async () => {
    const res = await call(as.admin, 'POST', `${base()}/channels`, {
      type: 'messenger',
      credentials: { pageId: 'strona', pageAccessToken: 'short', appSecret: 'nie-hex', verifyToken: 'a b' },
    });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(
      errorOf(res)
        .fields?.map((f) => f.field)
        .sort(),
      [
        'body.credentials.appSecret',
        'body.credentials.pageAccessToken',
        'body.credentials.pageId',
        'body.credentials.verifyToken',
      ],
    );
    const noType = await call(as.admin, 'POST', `${base()}/channels`, { name: 'x' });
    assert.equal(errorOf(noType).fields?.[0]?.field, 'body.type');
    assert.match(errorOf(noType).fields?.[0]?.message ?? '', /telegram, viber, messenger, sms, sms-http/);
  });

  test('managers and supervisors read channels without credentials, and cannot create, change, test or remove', async () => {
    const before = await dump();
    const channels = (await call(as.admin, 'GET', `${base()}/channels`)).json().items as { id: number }[];
    const id = channels[0]!.id;
    for (const who of ['manager', 'supervisor'] as const) {
      const list = await call(as[who], 'GET', `${base()}/channels`);
      assert.equal(list.statusCode, 200);
      for (const c of list.json().items) assert.equal(c.credentials, undefined);
      assert.equal((await call(as[who], 'GET', `${base()}/channels/${id}`)).statusCode, 200);
      const attempts = [
        call(as[who], 'POST', `${base()}/channels`, {
          type: 'sms-http',
          credentials: { sendUrl: 'https://gw.example/send', secret: 'sekret-sekret-sekret' },
        }),
        call(as[who], 'PATCH', `${base()}/channels/${id}`, { name: 'Przejęty' }),
        call(as[who], 'POST', `${base()}/channels/${id}/test`),
        call(as[who], 'DELETE', `${base()}/channels/${id}`),
        call(as[who], 'POST', `${base()}/numbers`, { e164: '+48601000000', channelId: id, smsEnabled: true }),
      ];
      for (const res of await Promise.all(attempts)) {
        assert.equal(res.statusCode, 403, res.body);
        assert.equal(errorOf(res).code, 'forbidden');
      }
    }
    // Another project's admin sees nothing of this project.
    assert.equal((await call(as.foreignAdmin, 'GET', `${base()}/channels`)).statusCode, 404);
    assert.equal(await dump(), before);
  });

  test('test, rename, pause and remove over HTTP', async () => {
    const botToken = token(800004, 'c');
    sim.telegram.createBot({ token: botToken, username: 'cykl_bot' });
    const created = await call(as.admin, 'POST', `${base()}/channels`, { type: 'telegram', credentials: { botToken } });
    const id = created.json().id as number;
    const tested = await call(as.admin, 'POST', `${base()}/channels/${id}/test`);
    assert.equal(tested.statusCode, 200, tested.body);
    assert.equal(tested.json().ok, true);
    assert.equal(tested.json().webhook.registered, true);
    const renamed = await call(as.admin, 'PATCH', `${base()}/channels/${id}`, { name: 'Cykl', enabled: false });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal(renamed.json().status, 'disabled');
    const bad = await call(as.admin, 'PATCH', `${base()}/channels/${id}`, { credentials: { botToken: 'zly' } });
    assert.equal(errorOf(bad).fields?.[0]?.field, 'body.credentials.botToken');
    const removed = await call(as.admin, 'DELETE', `${base()}/channels/${id}`);
    assert.equal(removed.statusCode, 200, removed.body);
    assert.equal(removed.json().removed, 'hard');
    assert.equal(sim.telegram.webhook(botToken), null);
    assert.equal((await call(as.admin, 'GET', `${base()}/channels/${id}`)).statusCode, 404);
    // A foreign project's channel id looks exactly like a missing one.
    const foreign = await insertChannelRow(store, otherProjectId, 'telegram');
    const a = await call(as.admin, 'POST', `${base()}/channels/${foreign}/test`);
    const b = await call(as.admin, 'POST', `${base()}/channels/987654321/test`);
    assert.equal(a.statusCode, 404);
    assert.equal(errorOf(a).message, errorOf(b).message);
  });

  test('numbers: R6 over HTTP, bad input named, role rules', async () => {
    const sms = await call(as.admin, 'POST', `${base()}/channels`, {
      type: 'sms',
      credentials: { host: sim.smpp.host, port: String(sim.smpp.port), systemId: 'sklep', password: 'haslo' },
    });
    assert.equal(sms.statusCode, 201, sms.body);
    const channelId = sms.json().id as number;
    const outbound = await call(as.admin, 'POST', `${base()}/numbers`, {
      e164: '+48 799 123 456',
      channelId,
      smsEnabled: true,
    });
    assert.equal(outbound.statusCode, 201, outbound.body);
    const { id: _id, createdAt: _at, ...shape } = outbound.json();
    assert.deepEqual(shape, {
      e164: '+48799123456',
      channelId,
      smsEnabled: true,
      outboundOnly: true,
      outboundOnlyOverride: null,
      canReply: false,
      senderLabel: 'SMS',
    });
    const normal = await call(as.admin, 'POST', `${base()}/numbers`, {
      e164: '+48 601 234 567',
      channelId,
      smsEnabled: true,
    });
    assert.equal(normal.statusCode, 201, normal.body);
    assert.deepEqual(
      [normal.json().outboundOnly, normal.json().canReply, normal.json().senderLabel],
      [false, true, '+48601234567'],
    );

    const telegramChannel = (await call(as.admin, 'GET', `${base()}/channels`))
      .json()
      .items.find((c: { type: string }) => c.type === 'telegram').id as number;
    const foreignSms = await insertChannelRow(store, otherProjectId, 'sms');
    const cases: [object, string][] = [
      [{ e164: 'to nie numer', channelId, smsEnabled: true }, 'body.e164'],
      [{ e164: '+48 12', channelId, smsEnabled: true }, 'body.e164'],
      [{ e164: '+48 602 345 678', channelId: foreignSms, smsEnabled: true }, 'body.channelId'],
      [{ e164: '+48 602 345 678', channelId: telegramChannel, smsEnabled: true }, 'body.channelId'],
      [{ e164: '+48 602 345 678', channelId: 'abc', smsEnabled: true }, 'body.channelId'],
      [{ e164: '+48 602 345 678', channelId, smsEnabled: 'tak' }, 'body.smsEnabled'],
    ];
    for (const [payload, field] of cases) {
      const res = await call(as.admin, 'POST', `${base()}/numbers`, payload);
      assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
      assert.equal(errorOf(res).fields?.[0]?.field, field, JSON.stringify(payload));
    }
    const dup = await call(as.admin, 'POST', `${base()}/numbers`, {
      e164: '+48799123456',
      channelId,
      smsEnabled: true,
    });
    assert.equal(dup.statusCode, 409);

    const list = await call(as.manager, 'GET', `${base()}/numbers`);
    assert.equal(list.statusCode, 200);
    assert.equal(list.json().items.length, 2);
    const numberId = outbound.json().id as number;
    assert.equal(
      (await call(as.manager, 'PATCH', `${base()}/numbers/${numberId}`, { smsEnabled: false })).statusCode,
      403,
    );
    const patched = await call(as.admin, 'PATCH', `${base()}/numbers/${numberId}`, { outboundOnly: false });
    assert.equal(patched.json().senderLabel, '+48799123456');
    const deleted = await call(as.admin, 'DELETE', `${base()}/numbers/${numberId}`);
    assert.equal(deleted.statusCode, 204);
    assert.equal((await call(as.admin, 'DELETE', `${base()}/numbers/${numberId}`)).statusCode, 404);
  });

  test('the OpenAPI document describes the new endpoints', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    assert.ok(doc.paths['/api/v1/projects/{projectId}/channels']?.post);
    assert.ok(doc.paths['/api/v1/projects/{projectId}/channels/{id}/test']?.post);
    assert.ok(doc.paths['/api/v1/projects/{projectId}/channels/{id}']?.patch);
    assert.ok(doc.paths['/api/v1/projects/{projectId}/numbers']?.post);
    assert.ok(doc.paths['/api/v1/projects/{projectId}/numbers/{id}']?.delete);
  });
});
