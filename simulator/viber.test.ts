import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from './server.js';
import { call, type Received, type Receiver, startReceiver } from './test-receiver.js';

const AUTH = '4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51r';
let sim: Simulator;
let hook: Receiver;
const api = (endpoint: string, body: unknown, token = AUTH) =>
  call(`${sim.urls.viber}/${endpoint}`, body, token ? { 'X-Viber-Auth-Token': token } : {});
const ola = { userId: '01234567890A=', name: 'Ola Wiśniewska' };

/** The documented check: hex HMAC-SHA256 of the raw body, keyed by the auth token. */
function signatureOk(r: Received): boolean {
  const expected = createHmac('sha256', AUTH).update(r.body).digest('hex');
  return r.headers['x-viber-content-signature'] === expected;
}

/** message_token as written on the wire (a 64-bit integer, not representable as a JS number). */
function rawToken(text: string): string {
  const m = /"message_token":(\d+)/.exec(text);
  assert.ok(m, `no message_token in ${text}`);
  return m[1]!;
}

before(async () => {
  sim = await startSimulator({ retry: { attempts: 2, delayMs: 5 } });
  hook = await startReceiver();
  sim.viber.createAccount({ authToken: AUTH, uri: 'dziennik', name: 'Dziennik' });
});

after(async () => {
  await sim.close();
  await hook.close();
});

test('a missing or wrong X-Viber-Auth-Token answers status 2', async () => {
  const missing = await api('get_account_info', {}, '');
  assert.equal(missing.status, 200);
  assert.deepEqual(missing.json, { status: 2, status_message: 'missing_auth_token' });
  const wrong = await api('get_account_info', {}, 'nope');
  assert.deepEqual(wrong.json, { status: 2, status_message: 'invalidAuthToken' });
});

test('send_message before set_webhook answers webhookNotSet', async () => {
  const r = await api('send_message', { receiver: ola.userId, type: 'text', text: 'x', sender: { name: 'Dziennik' } });
  assert.deepEqual(r.json, { status: 10, status_message: 'webhookNotSet' });
});

test('set_webhook fails when the URL does not answer 200', async () => {
  hook.setHandler(() => ({ status: 500 }));
  const r = await api('set_webhook', { url: hook.url });
  assert.deepEqual(r.json, { status: 1, status_message: 'invalidUrl' });
  hook.setHandler(() => ({ status: 200 }));
});

test('set_webhook posts a signed "webhook" callback and needs a 200', async () => {
  const start = hook.received.length;
  const r = await api('set_webhook', { url: hook.url, event_types: ['delivered', 'seen', 'conversation_started'] });
  assert.deepEqual(r.json, {
    status: 0,
    status_message: 'ok',
    event_types: ['delivered', 'seen', 'conversation_started'],
  });
  const check = hook.received[start]!;
  assert.ok(signatureOk(check));
  const body = JSON.parse(check.body.toString('utf8'));
  assert.equal(body.event, 'webhook');
  assert.equal(typeof body.timestamp, 'number');
  const info = await api('get_account_info', {});
  assert.equal(info.json.webhook, hook.url);
  assert.equal(info.json.uri, 'dziennik');
});

test('a user message is signed over the raw bytes and carries a 64-bit message_token', async () => {
  const start = hook.received.length;
  const d = await sim.viber.sendFromUser(AUTH, { ...ola, text: 'Czy sklep jest otwarty w niedzielę?' });
  assert.equal(d.ok, true);
  const r = hook.received[start]!;
  assert.ok(signatureOk(r));
  const text = r.body.toString('utf8');
  const body = JSON.parse(text);
  assert.equal(body.event, 'message');
  assert.deepEqual(body.sender, { id: ola.userId, name: ola.name, country: 'PL', language: 'pl', api_version: 10 });
  assert.deepEqual(body.message, { type: 'text', text: 'Czy sklep jest otwarty w niedzielę?' });
  const token = rawToken(text);
  assert.equal(BigInt(token), d.event.message_token);
  assert.ok(BigInt(token) > BigInt(Number.MAX_SAFE_INTEGER), 'token beyond 2^53');
  // A tampered body no longer verifies.
  const tampered = { ...r, body: Buffer.from(text.replace('niedzielę', 'sobotę')) };
  assert.equal(signatureOk(tampered), false);
});

test('conversation_started carries the context and the answer is recorded as a welcome message', async () => {
  hook.setHandler((req) => {
    const b = JSON.parse(req.body.toString('utf8'));
    if (b.event !== 'conversation_started') return { status: 200 };
    return {
      status: 200,
      body: JSON.stringify({ sender: { name: 'Dziennik' }, type: 'text', text: 'Witamy!' }),
    };
  });
  const d = await sim.viber.conversationStarted(AUTH, { userId: 'NEWUSER12345=', name: 'Jan', context: 'v_ctx42' });
  assert.equal(d.event.context, 'v_ctx42');
  assert.equal(d.event.subscribed, false);
  assert.equal(d.event.type, 'open');
  const welcome = sim.viber.sent(AUTH).find((s) => s.kind === 'welcome');
  assert.equal(welcome?.text, 'Witamy!');
  hook.setHandler(() => ({ status: 200 }));
});

test('send_message answers a message_token; delivered and seen refer to it', async () => {
  const r = await api('send_message', {
    receiver: ola.userId,
    type: 'text',
    text: 'Tak, od 10 do 16.',
    sender: { name: 'Dziennik' },
  });
  assert.equal(r.json.status, 0);
  assert.equal(r.json.status_message, 'ok');
  const token = rawToken(r.text);
  const sent = sim.viber.sent(AUTH).filter((s) => s.kind === 'send_message');
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.text, 'Tak, od 10 do 16.');
  assert.equal(String(sent[0]!.messageToken), token);
  const start = hook.received.length;
  await sim.viber.delivered(AUTH, BigInt(token));
  await sim.viber.seen(AUTH, BigInt(token));
  const [delivered, seen] = hook.received.slice(start).map((x) => x.body.toString('utf8'));
  assert.equal(JSON.parse(delivered!).event, 'delivered');
  assert.equal(rawToken(delivered!), token);
  assert.equal(JSON.parse(seen!).user_id, ola.userId);
});

test('missing fields, unsubscribed receivers and faults answer the documented statuses', async () => {
  const missing = await api('send_message', { receiver: ola.userId, type: 'text', text: 'x' });
  assert.deepEqual(missing.json, { status: 4, status_message: 'missingData' });
  const bad = await fetch(`${sim.urls.viber}/send_message`, {
    method: 'POST',
    headers: { 'X-Viber-Auth-Token': AUTH, 'content-type': 'application/json' },
    body: '{"receiver":',
  });
  assert.deepEqual(await bad.json(), { status: 3, status_message: 'badData' });

  const msg = { receiver: ola.userId, type: 'text', text: 'Dzięki!', sender: { name: 'Dziennik' } };
  sim.viber.failNext({ kind: 'rateLimit' });
  assert.deepEqual((await api('send_message', msg)).json, { status: 12, status_message: 'tooManyRequests' });
  sim.viber.failNext({ kind: 'serverError' });
  assert.equal((await api('send_message', msg)).status, 500);

  const start = hook.received.length;
  await sim.viber.unsubscribe(AUTH, ola.userId);
  const cb = JSON.parse(hook.received[start]!.body.toString('utf8'));
  assert.equal(cb.event, 'unsubscribed');
  assert.equal(cb.user_id, ola.userId);
  const r = await api('send_message', msg);
  assert.deepEqual(r.json, { status: 6, status_message: 'receiverNotSubscribed' });
  const unknown = await api('send_message', { ...msg, receiver: 'nobody==' });
  assert.equal(unknown.json.status, 5);
});

test('event_types filters delivered/seen but never message or unsubscribed', async () => {
  await api('set_webhook', { url: hook.url, event_types: [] });
  await sim.viber.sendFromUser(AUTH, { ...ola, text: 'znowu ja' });
  const r = await api('send_message', { receiver: ola.userId, type: 'text', text: 'ok', sender: { name: 'D' } });
  const start = hook.received.length;
  const d = await sim.viber.delivered(AUTH, BigInt(rawToken(r.text)));
  assert.equal(d.attempts, 0);
  assert.equal(hook.received.length, start);
});

test('autoReceipts: the phone reports delivered then seen by itself', async () => {
  const token = 'auto-receipts-token';
  sim.viber.createAccount({
    authToken: token,
    uri: 'auto',
    name: 'Auto',
    autoReceipts: { deliveredMs: 5, seenMs: 10 },
  });
  await call(`${sim.urls.viber}/set_webhook`, { url: hook.url }, { 'X-Viber-Auth-Token': token });
  await sim.viber.sendFromUser(token, { userId: 'AUTO1=', name: 'Zofia', text: 'hej' });
  const start = hook.received.length;
  const r = await call(
    `${sim.urls.viber}/send_message`,
    { receiver: 'AUTO1=', type: 'text', text: 'odp', sender: { name: 'Auto' } },
    { 'X-Viber-Auth-Token': token },
  );
  const got = await hook.waitFor(start + 2);
  const events = got.slice(start).map((x) => JSON.parse(x.body.toString('utf8')).event);
  assert.deepEqual(events, ['delivered', 'seen']);
  assert.equal(rawToken(got[start]!.body.toString('utf8')), rawToken(r.text));
});
