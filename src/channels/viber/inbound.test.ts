import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import { test } from 'node:test';
import { parse, quoteMessageTokens, verify } from './inbound.js';

const dir = new URL('./fixtures/', import.meta.url);

/** A fixture's payload as raw bytes, exactly as written in the file (`body` is its last key). */
function fixture(name: string): Buffer {
  const text = fs.readFileSync(new URL(name, dir), 'utf8');
  return Buffer.from(text.slice(text.indexOf('"body":') + 7, text.lastIndexOf('}')).trim());
}

const TOKEN = '445da6az1s345z78-dazcczb2542zv51a-e0vc5fva17480im9';
const sign = (body: Buffer, key = TOKEN) => createHmac('sha256', key).update(body).digest('hex');

test('every Viber fixture names the documentation page it follows', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 8);
  for (const f of files) {
    assert.match(JSON.parse(fs.readFileSync(new URL(f, dir), 'utf8')).source, /^https:\/\/developers\.viber\.com\//, f);
  }
});

test('verify: hex HMAC-SHA256 of the raw bytes keyed by the auth token', () => {
  const body = fixture('message-text.json');
  const h = (v: string) => ({ 'x-viber-content-signature': v });
  assert.equal(verify(body, h(sign(body)), TOKEN), true);
  assert.equal(verify(body, h(sign(body).toUpperCase()), TOKEN), true);
  // Tampered body, wrong key, missing or malformed header, no token configured.
  const tampered = Buffer.from(body.toString('utf8').replace('38', '39'));
  assert.equal(verify(tampered, h(sign(body)), TOKEN), false);
  assert.equal(verify(body, h(sign(body, 'another-token')), TOKEN), false);
  assert.equal(verify(body, {}, TOKEN), false);
  assert.equal(verify(body, h('abc'), TOKEN), false);
  assert.equal(verify(body, h(sign(body)), undefined), false);
  // Re-serialised JSON is other bytes: the token's digits are lost and the signature fails.
  const reserialised = Buffer.from(JSON.stringify(JSON.parse(body.toString('utf8'))));
  assert.equal(verify(reserialised, h(sign(body)), TOKEN), false);
});

test('message_token is kept to the last digit (beyond 2^53)', () => {
  assert.notEqual(String(JSON.parse(fixture('message-text.json').toString()).message_token), '4912661846655238145');
  const m = parse(fixture('message-text.json')).events[0];
  assert.deepEqual(m, {
    kind: 'message',
    platformMessageId: '4912661846655238145',
    externalUserId: '01234567890A=',
    displayName: 'Małgorzata Kowalczyk',
    text: 'Czy macie rozmiar 38?',
    sentAt: 1457764197627,
  });
  // A "message_token" inside a text value is text, not a key.
  const tricky =
    '{"event":"message","text":"\\"message_token\\":123456789012345678901","message_token": 98765432109876543210}';
  assert.equal(
    quoteMessageTokens(tricky),
    '{"event":"message","text":"\\"message_token\\":123456789012345678901","message_token": "98765432109876543210"}',
  );
});

test('a picture: its text and the media as an attachment', () => {
  const m = parse(fixture('message-picture.json')).events[0];
  assert.equal(m?.kind, 'message');
  if (m?.kind !== 'message') return;
  assert.equal(m.text, 'to zdjęcie');
  assert.deepEqual(m.attachments, [{ type: 'picture', url: 'http://example.com/photo.jpg', name: 'photo.jpg' }]);
});

test('conversation_started carries the deep-link context; subscriptions and receipts map', () => {
  assert.deepEqual(parse(fixture('conversation-started.json')).events, [
    {
      kind: 'start',
      eventId: '4912661846655238147',
      externalUserId: '01234567890B=',
      displayName: 'Jan Zieliński',
      sentAt: 1457764197627,
      deepLinkToken: 'vt_Ctx987',
    },
  ]);
  assert.deepEqual(parse(fixture('subscribed.json')).events, [
    { kind: 'reachable', externalUserId: '01234567890A=', eventId: '4912661846655238148' },
  ]);
  assert.deepEqual(parse(fixture('unsubscribed.json')).events, [
    { kind: 'unreachable', externalUserId: '01234567890A=', reason: 'unsubscribed', eventId: '4912661846655238149' },
  ]);
  assert.deepEqual(parse(fixture('delivered.json')).events, [
    { kind: 'receipt', platformMessageId: '4912661846655238145', status: 'delivered' },
  ]);
  assert.deepEqual(parse(fixture('seen.json')).events, [
    { kind: 'receipt', platformMessageId: '4912661846655238145', status: 'read' },
  ]);
  assert.deepEqual(parse(fixture('failed.json')).events, [
    {
      kind: 'receipt',
      platformMessageId: '4912661846655238145',
      status: 'failed',
      failureReason: 'failure description',
    },
  ]);
});

test('the webhook check and unknown events store nothing', () => {
  assert.deepEqual(parse(fixture('webhook.json')), { events: [], ignored: ['webhook check'] });
  assert.deepEqual(parse(Buffer.from('{"event":"client_status","timestamp":1}')).events, []);
});

test('malformed bodies throw (the webhook answers 400)', () => {
  for (const body of ['', 'nope', '[]', '{"timestamp":1}', '{"event":"message","message_token":1}']) {
    assert.throws(() => parse(Buffer.from(body)), Error, body);
  }
});
