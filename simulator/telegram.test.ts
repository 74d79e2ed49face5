import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from './server.js';
import { call, type Receiver, startReceiver } from './test-receiver.js';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const SECRET = 'dz_secret-42';
let sim: Simulator;
let hook: Receiver;
let clock = Date.UTC(2025, 0, 15, 12, 0, 0);
const api = (method: string) => `${sim.urls.telegram}/bot${TOKEN}/${method}`;
const anna = { userId: 5551001, firstName: 'Anna', lastName: 'Nowak', username: 'anowak' };

before(async () => {
  sim = await startSimulator({ now: () => clock, retry: { attempts: 3, delayMs: 5 } });
  hook = await startReceiver();
  sim.telegram.createBot({ token: TOKEN, username: 'dziennik_bot', firstName: 'Dziennik' });
});

after(async () => {
  await sim.close();
  await hook.close();
});

test('an unknown token answers 401 Unauthorized, an unknown method 404', async () => {
  const r = await call(`${sim.urls.telegram}/bot999:nope/getMe`);
  assert.equal(r.status, 401);
  assert.deepEqual(r.json, { ok: false, error_code: 401, description: 'Unauthorized' });
  const m = await call(api('noSuchMethod'), {});
  assert.equal(m.status, 404);
  assert.deepEqual(m.json, { ok: false, error_code: 404, description: 'Not Found' });
});

test('getMe describes the bot; method names are case-insensitive', async () => {
  const r = await call(api('getme'));
  assert.equal(r.status, 200);
  const me = r.json.result as Record<string, unknown>;
  assert.equal(r.json.ok, true);
  assert.equal(me.id, 123456789);
  assert.equal(me.is_bot, true);
  assert.equal(me.username, 'dziennik_bot');
});

test('setWebhook checks secret_token and registers the URL', async () => {
  const bad = await call(api('setWebhook'), { url: hook.url, secret_token: 'has spaces!' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.ok, false);
  const r = await call(api('setWebhook'), { url: hook.url, secret_token: SECRET });
  assert.deepEqual(r.json, { ok: true, result: true, description: 'Webhook was set' });
  const info = await call(api('getWebhookInfo'));
  assert.equal((info.json.result as Record<string, unknown>).url, hook.url);
  const conflict = await call(api('getUpdates'), {});
  assert.equal(conflict.status, 409);
});

test('a user message arrives as an Update with the secret header, ids increasing', async () => {
  const start = hook.received.length;
  const d1 = await sim.telegram.sendFromUser(TOKEN, { ...anna, text: 'Dzień dobry, mam pytanie' });
  const d2 = await sim.telegram.sendFromUser(TOKEN, { ...anna, text: 'o fakturę' });
  assert.equal(d1.ok, true);
  assert.equal(d1.attempts, 1);
  const [r1, r2] = hook.received.slice(start);
  assert.ok(r1 && r2);
  assert.equal(r1.method, 'POST');
  assert.equal(r1.headers['x-telegram-bot-api-secret-token'], SECRET);
  assert.equal(r1.headers['content-type'], 'application/json');
  const u1 = JSON.parse(r1.body.toString('utf8'));
  const u2 = JSON.parse(r2.body.toString('utf8'));
  assert.equal(u2.update_id, u1.update_id + 1);
  assert.equal(u2.message.message_id, u1.message.message_id + 1);
  assert.deepEqual(u1.message.from, {
    id: 5551001,
    is_bot: false,
    first_name: 'Anna',
    last_name: 'Nowak',
    username: 'anowak',
  });
  assert.deepEqual(u1.message.chat, {
    id: 5551001,
    first_name: 'Anna',
    last_name: 'Nowak',
    username: 'anowak',
    type: 'private',
  });
  assert.equal(u1.message.date, Math.floor(clock / 1000));
  assert.equal(u1.message.text, 'Dzień dobry, mam pytanie');
  assert.equal(d2.event.update_id, u2.update_id);
});

test('a deep link arrives as "/start <payload>" with a bot_command entity', async () => {
  const d = await sim.telegram.start(TOKEN, { userId: 5551002, firstName: 'Piotr' }, 'v_abc123');
  const msg = d.event.message as Record<string, unknown>;
  assert.equal(msg.text, '/start v_abc123');
  assert.deepEqual(msg.entities, [{ offset: 0, length: 6, type: 'bot_command' }]);
});

test('sendMessage is recorded and shares the chat message_id sequence', async () => {
  const r = await call(api('sendMessage'), { chat_id: anna.userId, text: 'W czym mogę pomóc?' });
  assert.equal(r.status, 200);
  const msg = r.json.result as Record<string, unknown>;
  assert.equal(msg.message_id, 3);
  assert.deepEqual(msg.chat, {
    id: 5551001,
    first_name: 'Anna',
    last_name: 'Nowak',
    username: 'anowak',
    type: 'private',
  });
  // form-urlencoded works as well
  const form = await fetch(api('sendMessage'), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ chat_id: String(anna.userId), text: 'Druga odpowiedź' }),
  });
  assert.equal(form.status, 200);
  const sent = sim.telegram.sent(TOKEN);
  assert.deepEqual(
    sent.map((s) => [s.chatId, s.messageId, s.text]),
    [
      [5551001, 3, 'W czym mogę pomóc?'],
      [5551001, 4, 'Druga odpowiedź'],
    ],
  );
  const missing = await call(api('sendMessage'), { chat_id: 42, text: 'x' });
  assert.deepEqual(missing.json, { ok: false, error_code: 400, description: 'Bad Request: chat not found' });
  const empty = await call(api('sendMessage'), { chat_id: anna.userId, text: '' });
  assert.deepEqual(empty.json, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' });
});

test('faults answer with the documented bodies, then calls succeed again', async () => {
  sim.telegram.failNext({ kind: 'rateLimit', retryAfter: 7 });
  sim.telegram.failNext({ kind: 'serverError', status: 502, description: 'Bad Gateway' });
  sim.telegram.failNext({ kind: 'blocked' });
  const body = { chat_id: anna.userId, text: 'próba' };
  const r429 = await call(api('sendMessage'), body);
  assert.equal(r429.status, 429);
  assert.deepEqual(r429.json, {
    ok: false,
    error_code: 429,
    description: 'Too Many Requests: retry after 7',
    parameters: { retry_after: 7 },
  });
  const r502 = await call(api('sendMessage'), body);
  assert.equal(r502.status, 502);
  const r403 = await call(api('sendMessage'), body);
  assert.deepEqual(r403.json, { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' });
  const ok = await call(api('sendMessage'), body);
  assert.equal(ok.status, 200);
});

test('blocking the bot sends my_chat_member and makes sends fail with 403', async () => {
  const d = await sim.telegram.blockBot(TOKEN, anna.userId);
  const upd = d.event.my_chat_member as Record<string, Record<string, unknown>>;
  assert.equal(upd.new_chat_member?.status, 'kicked');
  const r = await call(api('sendMessage'), { chat_id: anna.userId, text: 'halo?' });
  assert.equal(r.status, 403);
  assert.equal(r.json.description, 'Forbidden: bot was blocked by the user');
  await sim.telegram.unblockBot(TOKEN, anna.userId);
  assert.equal((await call(api('sendMessage'), { chat_id: anna.userId, text: 'jest' })).status, 200);
});

test('a non-2xx webhook answer is retried; redeliver posts the same bytes again', async () => {
  let failures = 2;
  hook.setHandler(() => (failures-- > 0 ? { status: 500 } : { status: 200 }));
  const start = hook.received.length;
  const d = await sim.telegram.sendFromUser(TOKEN, { ...anna, text: 'retry me' });
  assert.equal(d.ok, true);
  assert.equal(d.attempts, 3);
  const tries = hook.received.slice(start);
  assert.equal(tries.length, 3);
  assert.ok(tries.every((t) => t.body.equals(tries[0]!.body)));
  const again = await sim.telegram.redeliver(TOKEN, d.event.update_id);
  assert.equal(again.ok, true);
  assert.ok(hook.received[hook.received.length - 1]!.body.equals(tries[0]!.body));
  hook.setHandler(() => ({ status: 500 }));
  const gaveUp = await sim.telegram.sendFromUser(TOKEN, { ...anna, text: 'never acknowledged' });
  assert.equal(gaveUp.ok, false);
  assert.equal(gaveUp.attempts, 3);
  const info = await call(api('getWebhookInfo'));
  assert.match(String((info.json.result as Record<string, unknown>).last_error_message), /500/);
  hook.setHandler(() => ({ status: 200 }));
});

test('without a webhook updates wait and go out when one is set', async () => {
  await call(api('deleteWebhook'), { drop_pending_updates: true });
  const d = await sim.telegram.sendFromUser(TOKEN, { ...anna, text: 'czekam' });
  assert.equal(d.queued, true);
  const start = hook.received.length;
  await call(api('setWebhook'), { url: hook.url, secret_token: SECRET });
  const got = await hook.waitFor(start + 1);
  assert.equal(JSON.parse(got[start]!.body.toString('utf8')).update_id, d.event.update_id);
});

test('latency delays answers', async () => {
  sim.telegram.setLatency(60);
  const t0 = performance.now();
  await call(api('getMe'));
  assert.ok(performance.now() - t0 >= 55);
  sim.telegram.clearFaults();
});

test('the clock is the simulator clock', async () => {
  clock += 3_600_000;
  const d = await sim.telegram.sendFromUser(TOKEN, { ...anna, text: 'godzinę później' });
  assert.equal((d.event.message as Record<string, unknown>).date, Math.floor(clock / 1000));
});
