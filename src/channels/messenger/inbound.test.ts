import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { test } from 'node:test';
import { createProfileLookup, parse, verify, verifySubscription } from './inbound.js';

const dir = new URL('./fixtures/', import.meta.url);

/** A fixture's payload as raw bytes, exactly as written in the file (`body` is its last key). */
function fixture(name: string): Buffer {
  const text = fs.readFileSync(new URL(name, dir), 'utf8');
  return Buffer.from(text.slice(text.indexOf('"body":') + 7, text.lastIndexOf('}')).trim());
}

const SECRET = 'a8b3c0ffee0123456789abcdef012345';
const PAGE = '104857600000001';
const sign = (body: Buffer, key = SECRET) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

test('every Messenger fixture names the documentation page it follows', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 6);
  for (const f of files) {
    const doc = JSON.parse(fs.readFileSync(new URL(f, dir), 'utf8'));
    assert.match(doc.source, /^https:\/\/developers\.facebook\.com\//, f);
  }
});

test('verify: sha256= HMAC of the raw (\\u-escaped) bytes; re-serialised JSON fails', () => {
  const body = fixture('message-text.json');
  assert.ok(body.toString('latin1').includes('\\u017c'), 'the fixture keeps Meta’s escapes');
  const h = (v: string) => ({ 'x-hub-signature-256': v });
  assert.equal(verify(body, h(sign(body)), SECRET), true);
  // The same JSON value, written with raw UTF-8 (what JSON.stringify gives back): other bytes.
  const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
  assert.ok(reserialised.toString('utf8').includes('ż'));
  assert.equal(verify(reserialised, h(sign(body)), SECRET), false);
  assert.equal(verify(Buffer.from(body.toString().replace('ja', 'JA')), h(sign(body)), SECRET), false);
  assert.equal(verify(body, h(sign(body, 'wrong-secret')), SECRET), false);
  assert.equal(verify(body, h(sign(body).replace('sha256=', 'sha1=')), SECRET), false);
  assert.equal(verify(body, {}, SECRET), false);
  assert.equal(verify(body, h(sign(body)), undefined), false);
});

test('verification GET: the challenge for our token only', () => {
  const q = { 'hub.mode': 'subscribe', 'hub.verify_token': 'vt-123', 'hub.challenge': '1158201444' };
  assert.equal(verifySubscription(q, 'vt-123'), '1158201444');
  assert.equal(verifySubscription(q, 'vt-124'), undefined);
  assert.equal(verifySubscription({ ...q, 'hub.mode': 'unsubscribe' }, 'vt-123'), undefined);
  assert.equal(verifySubscription({ 'hub.mode': 'subscribe', 'hub.challenge': '1' }, 'vt-123'), undefined);
  assert.equal(verifySubscription(q, undefined), undefined);
});

test('a text message: mid, PSID, Polish text decoded from the escapes', () => {
  assert.deepEqual(parse(fixture('message-text.json'), { pageId: PAGE }).events, [
    {
      kind: 'message',
      platformMessageId: 'm_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P',
      externalUserId: '6254861174590028',
      text: 'Zażółć gęślą jaźń',
      sentAt: 1458692752478,
    },
  ]);
});

test('echoes of our own replies are ignored', () => {
  const r = parse(fixture('message-echo.json'), { pageId: PAGE });
  assert.deepEqual(r.events, []);
  assert.equal(r.ignored.length, 1);
});

test('deliveries (mids and watermark) and reads (watermark)', () => {
  assert.deepEqual(parse(fixture('delivery.json')).events, [
    { kind: 'receipt', platformMessageId: 'mid.1458668856218:ed81099e15d3f4f233', status: 'delivered' },
    { kind: 'watermark', externalUserId: '6254861174590028', status: 'delivered', watermark: 1458668856253 },
  ]);
  assert.deepEqual(parse(fixture('read.json')).events, [
    { kind: 'watermark', externalUserId: '6254861174590028', status: 'read', watermark: 1458668856253 },
  ]);
});

test('referral and Get Started postback carry the ref as the deep-link token', () => {
  assert.deepEqual(parse(fixture('referral.json')).events, [
    {
      kind: 'start',
      eventId: 'referral:6254861174590028:1458692752478',
      externalUserId: '6254861174590028',
      sentAt: 1458692752478,
      deepLinkToken: 'vt_Ref555',
    },
  ]);
  assert.deepEqual(parse(fixture('postback-get-started.json')).events, [
    {
      kind: 'start',
      eventId: 'postback:m_postback-1',
      externalUserId: '6254861174590029',
      sentAt: 1527459824000,
      deepLinkToken: 'vt_Post777',
    },
  ]);
});

test('a batch: every event of our page, in order; another page’s entry skipped', () => {
  const r = parse(fixture('batch-two-pages.json'), { pageId: PAGE });
  assert.deepEqual(
    r.events.map((e) => (e.kind === 'message' ? [e.platformMessageId, e.text, e.attachments] : e.kind)),
    [
      ['m_batch-1', 'pierwsza', undefined],
      ['m_batch-2', 'druga', [{ type: 'image', url: 'https://scontent.example.com/image.jpg' }]],
    ],
  );
  assert.deepEqual(r.ignored, ['entry for page 999999999999999']);
});

test('other objects are ignored; malformed bodies throw (the webhook answers 400)', () => {
  assert.deepEqual(parse(Buffer.from('{"object":"instagram","entry":[]}')).events, []);
  for (const body of ['', '{"object":', '"page"', '{"object":"page"}', '{"object":"page","entry":[1]}']) {
    assert.throws(() => parse(Buffer.from(body)), Error, body);
  }
});

test('profile names: fetched once, cached; a failure answers undefined and is retried later', async () => {
  let now = 1_000_000;
  const calls: string[] = [];
  let fail = false;
  const fakeFetch = (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    calls.push(`${url.pathname}?${url.searchParams.get('fields')}`);
    if (fail) return new Response('{"error":{"code":2}}', { status: 500 });
    return Response.json({ first_name: 'Łucja', last_name: 'Wąs', id: url.pathname.split('/').pop() });
  }) as typeof fetch;
  const lookup = createProfileLookup({ fetch: fakeFetch, graphApiUrl: 'https://graph.test/v21.0/', now: () => now });
  assert.equal(await lookup('111', 'page-token'), 'Łucja Wąs');
  assert.equal(await lookup('111', 'page-token'), 'Łucja Wąs');
  assert.deepEqual(calls, ['/v21.0/111?first_name,last_name']);
  fail = true;
  assert.equal(await lookup('222', 'page-token'), undefined);
  assert.equal(await lookup('222', 'page-token'), undefined);
  assert.equal(calls.length, 2, 'a failure is cached briefly');
  fail = false;
  now += 31_000;
  assert.equal(await lookup('222', 'page-token'), 'Łucja Wąs');
  const throwing = createProfileLookup({
    fetch: (async () => {
      throw new Error('ECONNREFUSED');
    }) as typeof fetch,
    graphApiUrl: 'https://graph.test/v21.0',
  });
  assert.equal(await throwing('333', 't'), undefined);
});
