import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from './server.js';
import { type Answer, call, type Received, type Receiver, startReceiver } from './test-receiver.js';

const PAGE = '106580124321234';
const PAGE_TOKEN = 'EAAGm0PX4ZCpsBAPageTokenForTests';
const APP_SECRET = 'a3f1c0ffee0ddba11';
const VERIFY = 'dz-verify-7';
const PSID = '6789012345678901';
const HOUR = 3_600_000;
let sim: Simulator;
let hook: Receiver;
let clock = Date.UTC(2025, 2, 1, 9, 0, 0);
let appId = '';
let appToken = '';
const graph = (path: string, body?: unknown, token = PAGE_TOKEN) =>
  call(`${sim.urls.graph}/${path}${path.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`, body);

/** The app's side of the handshake: echo hub.challenge only for our verify token. */
function app(req: Received): Answer {
  if (req.method === 'GET') {
    const q = req.url.searchParams;
    if (q.get('hub.mode') === 'subscribe' && q.get('hub.verify_token') === VERIFY) {
      return { status: 200, body: q.get('hub.challenge') ?? '' };
    }
    return { status: 403 };
  }
  return { status: 200, body: 'EVENT_RECEIVED' };
}

/** The documented check: sha256=<hex HMAC-SHA256 of the raw payload, keyed by the app secret>. */
function signatureOk(r: Received): boolean {
  const expected = `sha256=${createHmac('sha256', APP_SECRET).update(r.body).digest('hex')}`;
  return r.headers['x-hub-signature-256'] === expected;
}

const posts = () => hook.received.filter((r) => r.method === 'POST');
const lastPayload = () => JSON.parse(posts()[posts().length - 1]!.body.toString('utf8'));

before(async () => {
  sim = await startSimulator({ now: () => clock, retry: { attempts: 2, delayMs: 5 } });
  hook = await startReceiver(app);
  ({ appId, appAccessToken: appToken } = sim.messenger.createPage({
    pageId: PAGE,
    pageAccessToken: PAGE_TOKEN,
    appSecret: APP_SECRET,
    name: 'Dziennik Sklep',
  }));
});

after(async () => {
  await sim.close();
  await hook.close();
});

test('the verification GET carries hub.mode, hub.verify_token and hub.challenge', async () => {
  const wrong = await sim.messenger.verifyWebhook(PAGE, { url: hook.url, verifyToken: 'not-ours' });
  assert.equal(wrong.ok, false);
  assert.equal(wrong.status, 403);
  assert.equal(sim.messenger.webhook(PAGE), null);
  const ok = await sim.messenger.verifyWebhook(PAGE, { url: hook.url, verifyToken: VERIFY });
  assert.equal(ok.ok, true);
  assert.equal(ok.body, ok.challenge);
  const get = hook.received[hook.received.length - 1]!;
  assert.equal(get.url.searchParams.get('hub.mode'), 'subscribe');
});

test('POST /{app-id}/subscriptions with the app token runs the same handshake', async () => {
  const r = await graph(
    '' + appId + '/subscriptions',
    {
      object: 'page',
      callback_url: hook.url,
      verify_token: VERIFY,
      fields: 'messages,messaging_postbacks,messaging_referrals,message_deliveries,message_reads,message_echoes',
    },
    appToken,
  );
  assert.deepEqual(r.json, { success: true });
  const refused = await graph(
    appId + '/subscriptions',
    { object: 'page', callback_url: hook.url, verify_token: 'x' },
    appToken,
  );
  assert.equal(refused.status, 400);
  assert.equal((refused.json.error as Record<string, unknown>).code, 2200);
  // the earlier subscription stays in place
  assert.equal(sim.messenger.webhook(PAGE)?.url, hook.url);
});

test('a message arrives signed with X-Hub-Signature-256 over the exact bytes', async () => {
  const d = await sim.messenger.sendFromUser(PAGE, {
    psid: PSID,
    firstName: 'Marta',
    lastName: 'Zielińska',
    text: 'Cześć 👋',
  });
  assert.equal(d.ok, true);
  const r = posts()[posts().length - 1]!;
  assert.ok(signatureOk(r));
  assert.match(String(r.headers['x-hub-signature']), /^sha1=[0-9a-f]{40}$/);
  const payload = JSON.parse(r.body.toString('utf8'));
  assert.equal(payload.object, 'page');
  const [entry] = payload.entry;
  assert.equal(entry.id, PAGE);
  assert.equal(entry.time, clock);
  const [event] = entry.messaging;
  assert.deepEqual(event.sender, { id: PSID });
  assert.deepEqual(event.recipient, { id: PAGE });
  assert.equal(event.timestamp, clock);
  assert.match(event.message.mid, /^m_/);
  assert.equal(event.message.text, 'Cześć 👋');
  // Meta escapes non-ASCII as lowercase \uXXXX and signs those bytes: re-serialised JSON differs.
  assert.ok(r.body.toString('utf8').includes('"text":"Cze\\u015b\\u0107 \\ud83d\\udc4b"'));
  const reserialised = Buffer.from(JSON.stringify(payload));
  assert.equal(signatureOk({ ...r, body: reserialised }), false);
});

test('the user profile answers the requested fields', async () => {
  const r = await graph(`${PSID}?fields=first_name,last_name,profile_pic`);
  assert.equal(r.status, 200);
  assert.equal(r.json.first_name, 'Marta');
  assert.equal(r.json.last_name, 'Zielińska');
  assert.equal(r.json.id, PSID);
  assert.equal(typeof r.json.profile_pic, 'string');
  const me = await graph('me');
  assert.deepEqual(me.json, { name: 'Dziennik Sklep', id: PAGE });
});

test('a wrong page token answers 190 OAuthException', async () => {
  const r = await graph('me/messages', { recipient: { id: PSID }, message: { text: 'x' } }, 'bad-token');
  assert.equal(r.status, 400);
  const e = r.json.error as Record<string, unknown>;
  assert.equal(e.code, 190);
  assert.equal(e.type, 'OAuthException');
  assert.equal(typeof e.fbtrace_id, 'string');
});

test('the Send API answers recipient_id and message_id, records the send and echoes it', async () => {
  const n = hook.received.length;
  const r = await graph('me/messages', {
    recipient: { id: PSID },
    messaging_type: 'RESPONSE',
    message: { text: 'Dzień dobry, w czym pomóc?', metadata: 'dz:msg:1' },
  });
  assert.equal(r.status, 200);
  assert.equal(r.json.recipient_id, PSID);
  const mid = String(r.json.message_id);
  const sent = sim.messenger.sent(PAGE);
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.messageId, mid);
  assert.equal(sent[0]!.messagingType, 'RESPONSE');
  const [echoPost] = (await hook.waitFor(n + 1)).slice(n);
  assert.ok(signatureOk(echoPost!));
  const echo = JSON.parse(echoPost!.body.toString('utf8')).entry[0].messaging[0];
  assert.deepEqual(echo.sender, { id: PAGE });
  assert.deepEqual(echo.recipient, { id: PSID });
  assert.equal(echo.message.is_echo, true);
  assert.equal(echo.message.mid, mid);
  assert.equal(echo.message.app_id, Number(appId));
  assert.equal(echo.message.metadata, 'dz:msg:1');
  const byPageId = await graph(`${PAGE}/messages`, {
    recipient: { id: PSID },
    messaging_type: 'UPDATE',
    message: { text: 'ok' },
  });
  assert.equal(byPageId.status, 200);
});

test('delivery and read events name the page messages', async () => {
  const mids = sim.messenger.sent(PAGE).map((s) => s.messageId);
  await sim.messenger.delivered(PAGE, PSID);
  const delivery = lastPayload().entry[0].messaging[0];
  assert.deepEqual(delivery.delivery.mids, mids);
  assert.equal(typeof delivery.delivery.watermark, 'number');
  await sim.messenger.read(PAGE, PSID);
  assert.equal(typeof lastPayload().entry[0].messaging[0].read.watermark, 'number');
});

test('referrals: m.me ref for a known person, Get Started postback for a new one', async () => {
  await sim.messenger.referral(PAGE, { psid: PSID, ref: 'v_tok_1' });
  assert.deepEqual(lastPayload().entry[0].messaging[0].referral, {
    ref: 'v_tok_1',
    source: 'SHORTLINK',
    type: 'OPEN_THREAD',
  });
  await sim.messenger.getStarted(PAGE, { psid: '7000000000000002', firstName: 'Ewa', ref: 'v_tok_2' });
  const pb = lastPayload().entry[0].messaging[0].postback;
  assert.equal(pb.payload, 'GET_STARTED');
  assert.equal(pb.referral.ref, 'v_tok_2');
});

test('the 24-hour window, HUMAN_AGENT up to 7 days, and error 10 / 2018278 outside', async () => {
  clock += 25 * HOUR;
  const late = await graph('me/messages', {
    recipient: { id: PSID },
    messaging_type: 'RESPONSE',
    message: { text: 'spóźniona' },
  });
  assert.equal(late.status, 400);
  const e = late.json.error as Record<string, unknown>;
  assert.equal(e.code, 10);
  assert.equal(e.error_subcode, 2018278);
  assert.equal(e.type, 'OAuthException');
  const tagged = {
    recipient: { id: PSID },
    messaging_type: 'MESSAGE_TAG',
    tag: 'HUMAN_AGENT',
    message: { text: 'agent' },
  };
  assert.equal((await graph('me/messages', tagged)).status, 200);
  clock += 7 * 24 * HOUR;
  const tooLate = await graph('me/messages', tagged);
  assert.equal((tooLate.json.error as Record<string, unknown>).error_subcode, 2018278);
  // A new message from the person reopens the window.
  await sim.messenger.sendFromUser(PAGE, { psid: PSID, text: 'jestem' });
  assert.equal(
    (await graph('me/messages', { recipient: { id: PSID }, messaging_type: 'RESPONSE', message: { text: 'ok' } }))
      .status,
    200,
  );
});

test('faults and unknown recipients answer the documented errors', async () => {
  const msg = { recipient: { id: PSID }, messaging_type: 'RESPONSE', message: { text: 'x' } };
  sim.messenger.failNext({ kind: 'rateLimit', minutes: 3 });
  const limited = await graph('me/messages', msg);
  assert.equal((limited.json.error as Record<string, unknown>).code, 613);
  const usage = JSON.parse(limited.headers.get('x-business-use-case-usage') ?? '{}');
  assert.equal(usage[PAGE][0].estimated_time_to_regain_access, 3);
  sim.messenger.failNext({ kind: 'unavailable' });
  const gone = (await graph('me/messages', msg)).json.error as Record<string, unknown>;
  assert.deepEqual([gone.code, gone.error_subcode], [551, 1545041]);
  sim.messenger.failNext({ kind: 'serverError' });
  const down = await graph('me/messages', msg);
  assert.equal(down.status, 500);
  assert.equal((down.json.error as Record<string, unknown>).is_transient, true);
  const nobody = await graph('me/messages', { ...msg, recipient: { id: '1' } });
  assert.deepEqual(
    [(nobody.json.error as Record<string, unknown>).code, (nobody.json.error as Record<string, unknown>).error_subcode],
    [100, 2018001],
  );
  assert.equal((await graph('me/messages', msg)).status, 200);
});

test('a batch of events goes out as one signed entry', async () => {
  const d = await sim.messenger.post(PAGE, [
    { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: clock, message: { mid: 'm_a', text: 'jeden' } },
    { sender: { id: PSID }, recipient: { id: PAGE }, timestamp: clock, message: { mid: 'm_b', text: 'dwa' } },
  ]);
  assert.equal(d.ok, true);
  assert.ok(signatureOk(posts()[posts().length - 1]!));
  assert.equal(lastPayload().entry[0].messaging.length, 2);
});

test('a person who blocked the page answers 551', async () => {
  sim.messenger.setUnavailable(PAGE, PSID);
  const r = await graph('me/messages', { recipient: { id: PSID }, messaging_type: 'RESPONSE', message: { text: 'x' } });
  assert.equal((r.json.error as Record<string, unknown>).code, 551);
  sim.messenger.setUnavailable(PAGE, PSID, false);
});
