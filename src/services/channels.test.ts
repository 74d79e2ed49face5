import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/server.js';
import { type Receiver, startReceiver } from '../../simulator/test-receiver.js';
import { TelegramApi } from '../channels/telegram/api.js';
import { AppError, ValidationError } from '../core/errors.js';
import { findChannelById, openCredentials, sealCredentials } from '../store/channels.js';
import type { Store } from '../store/open.js';
import { insertDialog } from '../testing/fixtures.js';
import { createProject, forEachStore, TEST_SECRET, testConfig } from '../testing/harness.js';
import { createChannel, getChannel, listChannels, removeChannel, testChannel, updateChannel } from './channels.js';
import { type ProjectContext, makeAppContext } from './context.js';
import { createNumber, listNumbers } from './numbers.js';

/**
 * Channel set-up against the platform simulator: the webhook each platform ends up with, the
 * platform's refusals reaching the caller in its own words, nothing half-created, credentials
 * sealed at rest and masked on the way out.
 */

// Well-formed tokens (`<digits>:<35 characters>`); the simulator knows only the bots created in it.
const token = (id: number, fill: string) => `${id}:${fill.repeat(35).slice(0, 35)}`;
const APP_SECRET = '0123456789abcdef0123456789abcdef';

forEachStore('channel set-up', (env) => {
  let sim: Simulator;
  let receiver: Receiver;
  let store: Store;
  let projectId: number;
  let otherProjectId: number;
  let ctx: ProjectContext;
  let publicUrl: string;

  const contextFor = (id: number, overrides: Record<string, string> = {}): ProjectContext => ({
    ...makeAppContext({
      store,
      config: {
        ...testConfig({
          TELEGRAM_API_URL: sim.urls.telegram,
          VIBER_API_URL: sim.urls.viber,
          GRAPH_API_URL: sim.urls.graph,
          PUBLIC_URL: publicUrl,
          ...overrides,
        }),
        secretKey: TEST_SECRET,
      },
    }),
    project: { id, name: 'p', timeZone: 'Europe/Warsaw', language: 'pl' },
    actor: { type: 'user', id: 1, name: 'Agata Admin', role: 'admin' },
  });

  const rows = () => store.db.selectFrom('channels').selectAll().orderBy('id').execute();
  const auditActions = async () =>
    (await store.db.selectFrom('audit_log').select('action').orderBy('id').execute()).map((r) => r.action);

  async function rejects<E extends Error>(p: Promise<unknown>, type: new (...a: never[]) => E): Promise<E> {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof type, `expected ${type.name}, got ${(e as Error).name}: ${(e as Error).message}`);
      return e;
    }
    assert.fail(`expected ${type.name}`);
  }

  before(async () => {
    store = env.ts.store;
    sim = await startSimulator({ retry: { attempts: 1, delayMs: 5, timeoutMs: 2000 } });
    // Stands in for our webhook routes: 200 to Viber's check, the challenge back to Meta's GET.
    receiver = await startReceiver((r) =>
      r.method === 'GET' ? { status: 200, body: r.url.searchParams.get('hub.challenge') ?? '' } : { status: 200 },
    );
    publicUrl = new URL(receiver.url).origin;
    projectId = await createProject(store, 'Rowery');
    otherProjectId = await createProject(store, 'Inny');
    ctx = contextFor(projectId);
  });
  after(async () => {
    await receiver?.close();
    await sim?.close();
  });

  test('telegram: getMe, then setWebhook with our URL, a generated secret and the updates we handle', async () => {
    const botToken = token(700001, 'AbC-_9');
    sim.telegram.createBot({ token: botToken, username: 'rowery_bot', firstName: 'Rowery' });
    const view = await createChannel(ctx, { type: 'telegram', credentials: { botToken } });
    assert.equal(view.type, 'telegram');
    assert.equal(view.name, 'Telegram: @rowery_bot');
    assert.equal(view.status, 'active');
    assert.equal(view.config.botUsername, 'rowery_bot');
    assert.equal(view.config.botId, 700001);
    assert.equal(view.link, 'https://t.me/rowery_bot');
    assert.equal(view.webhookUrl, `${publicUrl}/webhooks/telegram/${view.id}`);
    assert.deepEqual(view.credentials, { botToken: `••••${botToken.slice(-4)}` });

    const hook = sim.telegram.webhook(botToken);
    const row = await findChannelById(store, view.id);
    assert.ok(hook && row);
    assert.equal(hook.url, `${publicUrl}/webhooks/telegram/${view.id}`);
    assert.match(hook.secretToken ?? '', /^[A-Za-z0-9_-]{1,256}$/);
    assert.ok((hook.secretToken ?? '').length >= 32);
    assert.equal(hook.secretToken, row.webhook_secret);
    assert.deepEqual(hook.allowedUpdates, ['message', 'edited_message', 'my_chat_member']);

    // Sealed at rest: the token appears nowhere in the table, and opens only for its own row.
    assert.ok(!JSON.stringify(await rows()).includes(botToken));
    assert.ok(!JSON.stringify(await store.db.selectFrom('audit_log').selectAll().execute()).includes(botToken));
    assert.match(row.credentials, /^v1\./);
    assert.deepEqual(openCredentials(TEST_SECRET, row), { botToken });
    assert.ok((await auditActions()).includes('channel.create'));
  });

  test('telegram: a token Telegram does not know → its 401 "Unauthorized" on the botToken field, no row', async () => {
    const before = await rows();
    const e = await rejects(
      createChannel(ctx, { type: 'telegram', name: 'Zły', credentials: { botToken: token(700099, 'x') } }),
      ValidationError,
    );
    assert.equal(e.fields?.[0]?.field, 'body.credentials.botToken');
    assert.match(e.fields?.[0]?.message ?? '', /Telegram refused it: Unauthorized \(error 401\)/);
    assert.deepEqual(await rows(), before);
  });

  test('telegram: setWebhook refused → platform_error with Telegram’s words, and the channel is not kept', async () => {
    const botToken = token(700002, 'q');
    sim.telegram.createBot({ token: botToken, username: 'odmowa_bot' });
    sim.telegram.failNext(
      { kind: 'error', status: 400, description: 'Bad Request: bad webhook: Failed to resolve host' },
      { method: 'setWebhook' },
    );
    const before = await rows();
    const auditBefore = await auditActions();
    const e = await rejects(createChannel(ctx, { type: 'telegram', credentials: { botToken } }), AppError);
    assert.equal(e.code, 'platform_error');
    assert.match(e.message, /Telegram refused the webhook .*: Bad Request: bad webhook: Failed to resolve host/);
    assert.deepEqual(await rows(), before);
    assert.deepEqual(await auditActions(), auditBefore);
    assert.equal(sim.telegram.webhook(botToken), null);
  });

  test('telegram: the same bot twice → 409, here or in another project', async () => {
    const botToken = token(700003, 'd');
    sim.telegram.createBot({ token: botToken, username: 'dwa_bot' });
    const first = await createChannel(ctx, { type: 'telegram', credentials: { botToken } });
    const again = await rejects(createChannel(ctx, { type: 'telegram', credentials: { botToken } }), AppError);
    assert.equal(again.code, 'conflict');
    assert.match(again.message, new RegExp(`channel ${first.id}`));
    const elsewhere = await rejects(
      createChannel(contextFor(otherProjectId), { type: 'telegram', credentials: { botToken } }),
      AppError,
    );
    assert.equal(elsewhere.code, 'conflict');
    assert.match(elsewhere.message, /another project/);
    assert.equal(sim.telegram.webhook(botToken)?.url, `${publicUrl}/webhooks/telegram/${first.id}`);
  });

  test('viber: get_account_info, then set_webhook — Viber checks the URL with a signed callback', async () => {
    const authToken = '4453b6ac12345678-e02c5f12174805f9-9a1b2c3d4e5f6a7b';
    sim.viber.createAccount({ authToken, uri: 'rowerykrakow', name: 'Rowery Kraków' });
    const seen = receiver.received.length;
    const view = await createChannel(ctx, { type: 'viber', credentials: { authToken } });
    assert.equal(view.name, 'Viber: Rowery Kraków');
    assert.equal(view.config.uri, 'rowerykrakow');
    assert.equal(view.link, 'viber://pa?chatURI=rowerykrakow');
    assert.deepEqual(view.credentials, { authToken: '••••6a7b' });
    const hook = sim.viber.webhook(authToken);
    assert.equal(hook?.url, `${publicUrl}/webhooks/viber/${view.id}`);
    assert.deepEqual(hook?.eventTypes, [
      'delivered',
      'seen',
      'failed',
      'subscribed',
      'unsubscribed',
      'conversation_started',
    ]);
    const check = receiver.received.slice(seen).find((r) => r.url.pathname === `/webhooks/viber/${view.id}`);
    assert.ok(check, 'Viber called the webhook during set_webhook');
    assert.equal(JSON.parse(check.body.toString()).event, 'webhook');
    assert.match(String(check.headers['x-viber-content-signature']), /^[0-9a-f]{64}$/);
  });

  test('viber: nothing answers at PUBLIC_URL → a clear platform_error and no channel', async () => {
    const authToken = 'deadbeef00000000-0000000000000000-1111111111111111';
    sim.viber.createAccount({ authToken, uri: 'nikt', name: 'Nikt' });
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const before = await rows();
    const e = await rejects(
      createChannel(contextFor(projectId, { PUBLIC_URL: `http://127.0.0.1:${port}` }), {
        type: 'viber',
        credentials: { authToken },
      }),
      AppError,
    );
    assert.equal(e.code, 'platform_error');
    assert.match(
      e.message,
      /Viber refused the webhook http:\/\/127\.0\.0\.1:\d+\/webhooks\/viber\/\d+: invalidUrl \(status 1\)/,
    );
    assert.match(e.message, /PUBLIC_URL .* must be reachable/);
    assert.deepEqual(await rows(), before);
    assert.equal(sim.viber.webhook(authToken), null);
  });

  test('viber: a wrong auth token → status 2 on the authToken field', async () => {
    const e = await rejects(
      createChannel(ctx, { type: 'viber', credentials: { authToken: 'ffffffffffffffff-ffffffffffffffff' } }),
      ValidationError,
    );
    assert.equal(e.fields?.[0]?.field, 'body.credentials.authToken');
    assert.match(e.fields?.[0]?.message ?? '', /Viber refused it: invalidAuthToken \(status 2\)/);
  });

  test('messenger: the page is checked and subscribed; without an app id the callback URL is left to the App Dashboard', async () => {
    sim.messenger.createPage({
      pageId: '104000000000001',
      pageAccessToken: 'EAAGpagetoken0000000001',
      appSecret: APP_SECRET,
      name: 'Rowery Kraków',
    });
    const view = await createChannel(ctx, {
      type: 'messenger',
      credentials: {
        pageId: '104000000000001',
        pageAccessToken: 'EAAGpagetoken0000000001',
        appSecret: APP_SECRET,
        verifyToken: 'zweryfikuj-mnie-2026',
      },
    });
    assert.equal(view.name, 'Messenger: Rowery Kraków');
    assert.equal(view.config.pageName, 'Rowery Kraków');
    assert.equal(view.config.appWebhook, 'app-dashboard');
    assert.equal(view.link, 'https://m.me/104000000000001');
    assert.deepEqual(view.credentials, {
      pageId: '104000000000001',
      pageAccessToken: '••••0001',
      appSecret: '••••cdef',
      verifyToken: '••••2026',
    });
    const calls = sim.messenger.calls('104000000000001');
    const subscribe = calls.find((c) => c.method === '104000000000001/subscribed_apps');
    assert.equal(
      subscribe?.params.subscribed_fields,
      'messages,messaging_postbacks,message_deliveries,message_reads,message_echoes,messaging_referrals',
    );
    assert.equal(subscribe?.status, 200);
    // appsecret_proof rides along: HMAC-SHA256 of the token keyed by the app secret.
    assert.match(String(subscribe?.params.appsecret_proof), /^[0-9a-f]{64}$/);
  });

  test('messenger: with the app id, the callback URL is set at Meta, which verifies it with the GET handshake', async () => {
    const { appId } = sim.messenger.createPage({
      pageId: '104000000000002',
      pageAccessToken: 'EAAGpagetoken0000000002',
      appSecret: 'fedcba9876543210fedcba9876543210',
      name: 'Serwis',
    });
    const seen = receiver.received.length;
    const view = await createChannel(ctx, {
      type: 'messenger',
      name: 'Serwis rowerowy',
      credentials: {
        pageId: '104000000000002',
        pageAccessToken: 'EAAGpagetoken0000000002',
        appSecret: 'fedcba9876543210fedcba9876543210',
        verifyToken: 'weryfikacja',
        appId,
      },
    });
    assert.equal(view.name, 'Serwis rowerowy');
    assert.equal(view.config.appWebhook, 'verified');
    const handshake = receiver.received.slice(seen).find((r) => r.method === 'GET');
    assert.equal(handshake?.url.pathname, `/webhooks/messenger/${view.id}`);
    assert.equal(handshake?.url.searchParams.get('hub.verify_token'), 'weryfikacja');
    assert.deepEqual(sim.messenger.webhook('104000000000002'), {
      url: `${publicUrl}/webhooks/messenger/${view.id}`,
      verifyToken: 'weryfikacja',
      fields: [
        'messages',
        'messaging_postbacks',
        'message_deliveries',
        'message_reads',
        'message_echoes',
        'messaging_referrals',
      ],
    });
  });

  test('messenger: a token Graph does not accept → code 190 on pageAccessToken, no row', async () => {
    const before = await rows();
    const e = await rejects(
      createChannel(ctx, {
        type: 'messenger',
        credentials: {
          pageId: '104000000000001',
          pageAccessToken: 'EAAGwrongwrongwrong000',
          appSecret: APP_SECRET,
          verifyToken: 'x',
        },
      }),
      ValidationError,
    );
    assert.equal(e.fields?.[0]?.field, 'body.credentials.pageAccessToken');
    assert.match(e.fields?.[0]?.message ?? '', /Facebook refused it: Invalid OAuth access token\. \(code 190\)/);
    assert.deepEqual(await rows(), before);
  });

  test('credentials are validated field by field, every bad field named', async () => {
    const e = await rejects(
      createChannel(ctx, {
        type: 'sms',
        credentials: { host: 'smsc example', port: 70000, systemId: '', password: 'far-too-long', extra: 1 },
      }),
      ValidationError,
    );
    assert.deepEqual(e.fields?.map((f) => f.field).sort(), [
      'body.credentials.extra',
      'body.credentials.host',
      'body.credentials.password',
      'body.credentials.port',
      'body.credentials.systemId',
    ]);
    const unknown = await rejects(
      createChannel(ctx, { type: 'telegram', credentials: { botToken: token(1, 'a'), token: 'x' } }),
      ValidationError,
    );
    assert.deepEqual(unknown.fields, [
      { field: 'body.credentials.token', message: 'is not a telegram credential (known: botToken)' },
    ]);
    const type = await rejects(createChannel(ctx, { type: 'whatsapp', credentials: {} }), ValidationError);
    assert.equal(type.fields?.[0]?.field, 'body.type');
    const format = await rejects(
      createChannel(ctx, { type: 'telegram', credentials: { botToken: 'not-a-token' } }),
      ValidationError,
    );
    assert.equal(format.fields?.[0]?.field, 'body.credentials.botToken');
  });

  test('sms (SMPP): stored without a platform call; the test binds, and a wrong password is reported', async () => {
    sim.smsc.addAccount({ systemId: 'rowery', password: 'tajne12' });
    const view = await createChannel(ctx, {
      type: 'sms',
      credentials: { host: sim.smpp.host, port: sim.smpp.port, systemId: 'rowery', password: 'tajne12' },
    });
    assert.equal(view.name, `SMS: rowery@${sim.smpp.host}`);
    assert.equal(view.webhookUrl, null);
    assert.deepEqual(view.credentials, {
      host: sim.smpp.host,
      port: sim.smpp.port,
      systemId: 'rowery',
      password: '••••',
    });
    const ok = await testChannel(ctx, view.id);
    assert.equal(ok.ok, true, ok.message);
    assert.equal(ok.account?.smscSystemId, 'DZSIM');
    assert.match(ok.message, /Bound to .* as rowery/);

    const wrong = await createChannel(ctx, {
      type: 'sms',
      name: 'Złe hasło',
      credentials: { host: sim.smpp.host, port: sim.smpp.port, systemId: 'rowery', password: 'zle' },
    });
    const refused = await testChannel(ctx, wrong.id);
    assert.equal(refused.ok, false);
    assert.match(
      refused.message,
      /The SMSC refused the connection: bind_transceiver was refused \(ESME_RINVPASWD 0x0000000e\)/,
    );
    const config = (await getChannel(ctx, wrong.id)).config.lastTest as { ok: boolean; message: string };
    assert.equal(config.ok, false);
  });

  test('sms (SMPP): a host that never answers → the test ends at its timeout, ok: false', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const view = await createChannel(ctx, {
        type: 'sms',
        name: 'Cisza',
        credentials: { host: '127.0.0.1', port, systemId: 'cisza', password: 'x' },
      });
      const r = await testChannel(ctx, view.id, { timeoutMs: 300 });
      assert.equal(r.ok, false);
      assert.match(r.message, /could not be reached: No answer from 127\.0\.0\.1:\d+ in 300 ms/);
      assert.equal(r.error?.code, 'ETIMEDOUT');
    } finally {
      silent.close();
    }
  });

  test('sms-http: the callback URL is ours, the send URL is shown without its key', async () => {
    const view = await createChannel(ctx, {
      type: 'sms-http',
      credentials: { sendUrl: `${publicUrl}/send?apikey=klucz-tajny-123456`, secret: 'wspolny-sekret-0123456789' },
    });
    // The admin copies it into the gateway (docs/SMS-GATEWAY.md).
    assert.equal(view.webhookUrl, `${publicUrl}/webhooks/sms/${view.id}`);
    assert.equal(view.credentials?.sendUrl, `${publicUrl}/send?apikey=••••3456`);
    assert.equal(view.credentials?.secret, '••••6789');
    assert.ok(!JSON.stringify(view).includes('klucz-tajny'));
    const r = await testChannel(ctx, view.id);
    assert.equal(r.ok, true, r.message);
  });

  test('update: rename, rotate the token of the same bot, refuse another bot; pause and resume', async () => {
    const oldToken = token(700010, 'o');
    const newToken = token(700010, 'n');
    sim.telegram.createBot({ token: oldToken, username: 'zmiana_bot' });
    const view = await createChannel(ctx, { type: 'telegram', credentials: { botToken: oldToken } });
    const renamed = await updateChannel(ctx, view.id, { name: 'Sklep' });
    assert.equal(renamed.name, 'Sklep');

    // @BotFather's /revoke: same bot, new token.
    sim.telegram.createBot({ token: newToken, username: 'zmiana_bot' });
    const rotated = await updateChannel(ctx, view.id, { credentials: { botToken: newToken } });
    assert.deepEqual(rotated.credentials, { botToken: `••••${newToken.slice(-4)}` });
    const row = await findChannelById(store, view.id);
    assert.deepEqual(openCredentials(TEST_SECRET, row!), { botToken: newToken });
    assert.equal(sim.telegram.webhook(newToken)?.secretToken, row?.webhook_secret);

    const other = token(700011, 'z');
    sim.telegram.createBot({ token: other, username: 'inny_bot' });
    const e = await rejects(updateChannel(ctx, view.id, { credentials: { botToken: other } }), ValidationError);
    assert.equal(e.fields?.[0]?.field, 'body.credentials.botToken');
    assert.match(e.fields?.[0]?.message ?? '', /another bot \(inny_bot\)/);
    assert.deepEqual(openCredentials(TEST_SECRET, (await findChannelById(store, view.id))!), { botToken: newToken });

    const paused = await updateChannel(ctx, view.id, { enabled: false });
    assert.equal(paused.status, 'disabled');
    assert.equal((await findChannelById(store, view.id))?.enabled, 0);
    // While paused someone else took the webhook; resuming registers ours again.
    await new TelegramApi({ baseUrl: sim.urls.telegram, botToken: newToken }).deleteWebhook();
    const resumed = await updateChannel(ctx, view.id, { enabled: true });
    assert.equal(resumed.status, 'active');
    assert.equal(sim.telegram.webhook(newToken)?.url, `${publicUrl}/webhooks/telegram/${view.id}`);
    const actions = await auditActions();
    assert.ok(actions.filter((a) => a === 'channel.update').length >= 4);
  });

  test('update: resuming fails at the platform → the channel stays paused, with the platform’s words', async () => {
    const botToken = token(700012, 'p');
    sim.telegram.createBot({ token: botToken, username: 'pauza_bot' });
    const view = await createChannel(ctx, { type: 'telegram', credentials: { botToken } });
    await updateChannel(ctx, view.id, { enabled: false });
    sim.telegram.failNext({ kind: 'serverError', status: 502, description: 'Bad Gateway' }, { method: 'setWebhook' });
    const e = await rejects(updateChannel(ctx, view.id, { enabled: true }), AppError);
    assert.equal(e.code, 'platform_error');
    assert.match(e.message, /Bad Gateway/);
    assert.equal((await findChannelById(store, view.id))?.enabled, 0);
  });

  test('test: telegram reports whether the webhook is ours', async () => {
    const botToken = token(700020, 't');
    sim.telegram.createBot({ token: botToken, username: 'test_bot' });
    const view = await createChannel(ctx, { type: 'telegram', credentials: { botToken } });
    const ok = await testChannel(ctx, view.id);
    assert.equal(ok.ok, true, ok.message);
    assert.deepEqual(ok.account, { id: 700020, username: 'test_bot', name: 'test_bot' });
    assert.equal(ok.webhook?.registered, true);
    await new TelegramApi({ baseUrl: sim.urls.telegram, botToken }).setWebhook({
      url: 'https://elsewhere.example/hook',
    });
    const moved = await testChannel(ctx, view.id);
    assert.equal(moved.ok, false);
    assert.match(moved.message, /Telegram delivers to https:\/\/elsewhere\.example\/hook, not to this channel/);
    sim.telegram.failNext({ kind: 'error', status: 401, description: 'Unauthorized' }, { method: 'getMe' });
    const revoked = await testChannel(ctx, view.id);
    assert.equal(revoked.ok, false);
    assert.equal(revoked.message, 'Telegram refused the connection: Unauthorized (error 401)');
    assert.deepEqual(revoked.error, { platform: 'telegram', status: 401, code: 401 });
  });

  test('remove: with dialogs, soft (kept for history, disabled, secrets wiped, webhook deleted); without, gone', async () => {
    const botToken = token(700030, 'r');
    sim.telegram.createBot({ token: botToken, username: 'stary_bot' });
    const used = await createChannel(ctx, { type: 'telegram', name: 'Stary bot', credentials: { botToken } });
    await insertDialog(store, {
      projectId,
      channelId: used.id,
      status: 'closed',
      createdAt: Date.now() - 60_000,
      clientName: 'Anna',
      messages: [{ direction: 'in', text: 'Dzień dobry', at: Date.now() - 60_000 }],
    });
    const soft = await removeChannel(ctx, used.id);
    assert.deepEqual(soft, {
      id: used.id,
      removed: 'soft',
      numbersRemoved: 0,
      platform: { action: 'deleteWebhook', ok: true, message: 'The webhook was deleted at Telegram' },
    });
    assert.equal(sim.telegram.webhook(botToken), null);
    const row = await findChannelById(store, used.id);
    assert.equal(row?.enabled, 0, 'webhook routes see a disabled channel and answer 404');
    assert.equal(row?.credentials, '');
    assert.equal(row?.webhook_secret, null);
    const kept = await getChannel(ctx, used.id);
    assert.equal(kept.status, 'removed');
    assert.equal(kept.name, 'Stary bot');
    assert.equal(kept.credentials, undefined);
    assert.ok(kept.removedAt);
    assert.ok(!(await listChannels(ctx)).items.some((c) => c.id === used.id));
    assert.ok((await listChannels(ctx, { includeRemoved: true })).items.some((c) => c.id === used.id));
    await rejects(updateChannel(ctx, used.id, { name: 'x' }), AppError);
    await rejects(removeChannel(ctx, used.id), AppError);
    // The bot is free for a new channel.
    const again = await createChannel(ctx, { type: 'telegram', credentials: { botToken } });
    assert.notEqual(again.id, used.id);

    sim.smsc.addAccount({ systemId: 'pusty', password: 'x' });
    const unused = await createChannel(ctx, {
      type: 'sms',
      credentials: { host: sim.smpp.host, port: sim.smpp.port, systemId: 'pusty', password: 'x' },
    });
    await createNumber(ctx, { e164: '+48 500 100 200', channelId: unused.id, smsEnabled: true });
    const hard = await removeChannel(ctx, unused.id);
    assert.deepEqual(hard, { id: unused.id, removed: 'hard', numbersRemoved: 1, platform: null });
    assert.equal(await findChannelById(store, unused.id), undefined);
    assert.ok(!(await listNumbers(ctx)).items.some((n) => n.e164 === '+48500100200'));
    assert.ok((await auditActions()).includes('channel.remove'));
  });

  test('remove: viber clears its webhook; messenger reports what the platform said and is removed anyway', async () => {
    const authToken = 'abcabcabcabcabca-bcabcabcabcabcab-cabcabcabcabcabc';
    sim.viber.createAccount({ authToken, uri: 'usun', name: 'Usuń' });
    const viber = await createChannel(ctx, { type: 'viber', credentials: { authToken } });
    const r = await removeChannel(ctx, viber.id);
    assert.equal(r.platform?.ok, true);
    assert.equal(sim.viber.webhook(authToken), null);

    sim.messenger.createPage({
      pageId: '104000000000009',
      pageAccessToken: 'EAAGpagetoken0000000009',
      appSecret: APP_SECRET,
    });
    const page = await createChannel(ctx, {
      type: 'messenger',
      credentials: {
        pageId: '104000000000009',
        pageAccessToken: 'EAAGpagetoken0000000009',
        appSecret: APP_SECRET,
        verifyToken: 'v',
      },
    });
    const m = await removeChannel(ctx, page.id);
    // The simulator does not model DELETE /{page-id}/subscribed_apps: Graph's "Unsupported delete request".
    assert.equal(m.platform?.action, 'unsubscribe');
    assert.equal(m.platform?.ok, false);
    assert.match(m.platform?.message ?? '', /Facebook refused unsubscribe: Unsupported delete request/);
    assert.equal(await findChannelById(store, page.id), undefined);
  });

  test('credentials sealed under another SECRET_KEY: listed as unreadable, the test says so, PATCH replaces them', async () => {
    const view = await createChannel(ctx, {
      type: 'sms-http',
      name: 'Stary klucz',
      credentials: { sendUrl: `${publicUrl}/send`, secret: 'wspolny-sekret-0123456789' },
    });
    await store.db
      .updateTable('channels')
      .set({ credentials: sealCredentials('another-secret-key-0123456789-0123456789', projectId, view.id, {}) })
      .where('id', '=', view.id)
      .execute();
    const listed = (await listChannels(ctx)).items.find((c) => c.id === view.id);
    assert.equal(listed?.credentialsUnreadable, true);
    assert.equal(listed?.credentials, undefined);
    const r = await testChannel(ctx, view.id);
    assert.equal(r.ok, false);
    assert.match(r.message, /cannot be decrypted/);
    const fixed = await updateChannel(ctx, view.id, {
      credentials: { sendUrl: `${publicUrl}/send`, secret: 'nowy-wspolny-sekret-0123' },
    });
    assert.equal(fixed.credentials?.secret, '••••0123');
    assert.equal((await testChannel(ctx, view.id)).ok, true);
  });

  test('reading: managers get names, types and links, never credentials', async () => {
    const manager: ProjectContext = { ...ctx, actor: { type: 'user', id: 2, name: 'Marek', role: 'manager' } };
    const { items } = await listChannels(manager);
    assert.ok(items.length > 0);
    for (const c of items) assert.equal(c.credentials, undefined);
    const all = JSON.stringify(await listChannels(ctx));
    assert.ok(!all.includes(APP_SECRET));
    assert.ok(!all.includes('EAAGpagetoken0000000001'));
    // Another project's channels are not there.
    assert.deepEqual((await listChannels(contextFor(otherProjectId))).items, []);
  });
});
