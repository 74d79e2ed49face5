import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from './server.js';
import { call, type Received, type Receiver, startReceiver } from './test-receiver.js';

const SECRET = 'wspolny-sekret-bramki-0123456789';
let sim: Simulator;
let hook: Receiver;
const sendUrl = () => `${sim.urls.smsGateway}/send`;

/** The signing of docs/SMS-GATEWAY.md, written out here again. */
function sign(body: string, secret = SECRET, ts = Math.floor(Date.now() / 1000)): Record<string, string> {
  const hex = createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
  return { 'X-Dziennik-Timestamp': String(ts), 'X-Dziennik-Signature': `sha256=${hex}` };
}

function signedOk(r: Received): boolean {
  const ts = String(r.headers['x-dziennik-timestamp']);
  const hex = createHmac('sha256', SECRET).update(`${ts}.`).update(r.body).digest('hex');
  return r.headers['x-dziennik-signature'] === `sha256=${hex}` && Math.abs(Date.now() / 1000 - Number(ts)) < 300;
}

async function send(body: unknown, headers?: Record<string, string>) {
  const text = JSON.stringify(body);
  return call(sendUrl(), body, headers ?? sign(text));
}

const message = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  from: '+48221234567',
  fromType: 'number',
  to: '+48601234567',
  text: 'Dzień dobry',
  encoding: 'ucs2',
  segments: 1,
  ...extra,
});

before(async () => {
  sim = await startSimulator({ retry: { attempts: 3, delayMs: 5 } });
  hook = await startReceiver();
  sim.smsGateway.configure({ secret: SECRET, webhookUrl: hook.url, receipts: null });
});

after(async () => {
  await sim.close();
  await hook.close();
});

test('the connection test: HEAD and GET on the send URL answer 200', async () => {
  assert.equal((await fetch(sendUrl(), { method: 'HEAD' })).status, 200);
  assert.equal((await call(sendUrl())).status, 200);
});

test('a signed send is accepted with a messageId; the same id again answers the same id, sent once', async () => {
  const r = await send(message('1'));
  assert.equal(r.status, 202);
  assert.match(String(r.json.messageId), /^gw_\d{8}$/);
  const again = await send(message('1'));
  assert.equal(again.status, 200);
  assert.equal(again.json.messageId, r.json.messageId);
  assert.equal(sim.smsGateway.sent().filter((s) => s.id === '1').length, 1);
  assert.deepEqual(
    { ...sim.smsGateway.sent()[0], at: 0 },
    {
      id: '1',
      messageId: r.json.messageId,
      from: '+48221234567',
      fromType: 'number',
      to: '+48601234567',
      text: 'Dzień dobry',
      encoding: 'ucs2',
      segments: 1,
      at: 0,
    },
  );
});

test('unsigned, forged, wrong-secret and stale requests answer 401 and send nothing', async () => {
  const before = sim.smsGateway.sent().length;
  const body = JSON.stringify(message('2'));
  const stale = Math.floor(Date.now() / 1000) - 301;
  for (const headers of [
    {},
    sign(body, 'another-secret-0123456789'),
    sign(JSON.stringify(message('2', { text: 'podmieniony' }))),
    sign(body, SECRET, stale),
  ]) {
    const r = await call(sendUrl(), message('2'), headers);
    assert.equal(r.status, 401);
    assert.equal((r.json.error as { code: string }).code, 'unauthorized');
  }
  assert.equal(sim.smsGateway.sent().length, before);
  assert.deepEqual(
    sim.smsGateway
      .calls()
      .slice(-4)
      .map((c) => c.signatureOk),
    [false, false, false, false],
  );
});

test('malformed fields answer 400 invalid_request; a bad destination 422 invalid_number', async () => {
  for (const bad of [
    message('3', { encoding: 'utf8' }),
    message('3', { segments: 0 }),
    message('3', { from: 'Sklep Rowerowy', fromType: 'alphanumeric' }),
    message('3', { fromType: undefined }),
    { ...message('3'), text: undefined },
  ]) {
    const r = await send(bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal((r.json.error as { code: string }).code, 'invalid_request');
  }
  const to = await send(message('3', { to: '601234567' }));
  assert.equal(to.status, 422);
  assert.equal((to.json.error as { code: string }).code, 'invalid_number');
});

test('failNext: rate limit with Retry-After, server error, invalid number, unauthorized', async () => {
  sim.smsGateway.failNext({ kind: 'rateLimit', retryAfterSeconds: 3 });
  const limited = await send(message('4'));
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get('retry-after'), '3');
  sim.smsGateway.failNext({ kind: 'serverError' });
  assert.equal((await send(message('4'))).status, 503);
  sim.smsGateway.failNext({ kind: 'invalidNumber' });
  assert.equal(((await send(message('4'))).json.error as { code: string }).code, 'invalid_number');
  sim.smsGateway.failNext({ kind: 'unauthorized' });
  assert.equal((await send(message('4'))).status, 401);
  assert.equal((await send(message('4'))).status, 202);
});

test('receipts: a signed status callback per accepted message', async () => {
  sim.smsGateway.setReceipts({ status: 'failed', error: 'absent subscriber', delayMs: 0 });
  const start = hook.received.length;
  const r = await send(message('5'));
  const [cb] = (await hook.waitFor(start + 1)).slice(start);
  assert.ok(cb && signedOk(cb));
  assert.deepEqual(JSON.parse(cb.body.toString()), {
    type: 'status',
    messageId: r.json.messageId,
    status: 'failed',
    error: 'absent subscriber',
  });
  sim.smsGateway.setReceipts(null);
  const d = await sim.smsGateway.delivered(String(r.json.messageId));
  assert.equal(d.ok, true);
  assert.deepEqual(d.event, { type: 'status', messageId: r.json.messageId, status: 'delivered' });
});

test('an SMS from a phone: a signed message callback; redelivered with the same id, signed afresh', async () => {
  const start = hook.received.length;
  const d = await sim.smsGateway.sendFromUser({ from: '+48601234567', to: '+48221234567', text: 'Czy mogę odebrać?' });
  assert.equal(d.ok, true);
  assert.equal(d.attempts, 1);
  const again = await sim.smsGateway.redeliver(String(d.event.id));
  assert.equal(again.ok, true);
  const [first, second] = hook.received.slice(start);
  assert.ok(first && second && signedOk(first) && signedOk(second));
  const body = JSON.parse(first.body.toString()) as Record<string, unknown>;
  assert.equal(body.type, 'message');
  assert.equal(body.from, '+48601234567');
  assert.equal(body.to, '+48221234567');
  assert.equal(body.text, 'Czy mogę odebrać?');
  assert.ok(!Number.isNaN(Date.parse(String(body.receivedAt))));
  assert.deepEqual(JSON.parse(second.body.toString()), body);
});

test('callbacks retry on 5xx, never on another 4xx', async () => {
  let n = 0;
  hook.setHandler(() => ({ status: n++ === 0 ? 503 : 200 }));
  const retried = await sim.smsGateway.sendFromUser({ from: '+48601234567', to: '+48221234567', text: 'a' });
  assert.equal(retried.ok, true);
  assert.equal(retried.attempts, 2);
  hook.setHandler(() => ({ status: 400 }));
  const refused = await sim.smsGateway.sendFromUser({ from: '+48601234567', to: '+48221234567', text: 'b' });
  assert.equal(refused.ok, false);
  assert.equal(refused.attempts, 1);
  hook.setHandler(() => ({ status: 200 }));
});
