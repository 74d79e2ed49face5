import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { parse, verify } from './inbound.js';

const dir = new URL('./fixtures/', import.meta.url);

/** A fixture's payload as raw bytes, exactly as written in the file (`body` is its last key). */
function fixture(name: string): Buffer {
  const text = fs.readFileSync(new URL(name, dir), 'utf8');
  return Buffer.from(text.slice(text.indexOf('"body":') + 7, text.lastIndexOf('}')).trim());
}

test('every Telegram fixture names the documentation page it follows', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 5);
  for (const f of files) {
    const doc = JSON.parse(fs.readFileSync(new URL(f, dir), 'utf8'));
    assert.match(doc.source, /^https:\/\/core\.telegram\.org\//, f);
    JSON.parse(fixture(f).toString('utf8'));
  }
});

test('verify: the secret token header, compared in constant time', () => {
  const body = fixture('message-text.json');
  assert.equal(verify(body, { 'x-telegram-bot-api-secret-token': 's3cret_Token-1' }, 's3cret_Token-1'), true);
  assert.equal(verify(body, { 'x-telegram-bot-api-secret-token': 's3cret_Token-2' }, 's3cret_Token-1'), false);
  assert.equal(verify(body, { 'x-telegram-bot-api-secret-token': 's3cret' }, 's3cret_Token-1'), false);
  assert.equal(verify(body, {}, 's3cret_Token-1'), false);
  assert.equal(verify(body, { 'x-telegram-bot-api-secret-token': '' }, ''), false);
  // A channel without a secret accepts nothing.
  assert.equal(verify(body, { 'x-telegram-bot-api-secret-token': 'x' }, null), false);
});

test('a private text message: sender, name, handle, chat-scoped message id, date', () => {
  const { events, ignored } = parse(fixture('message-text.json'));
  assert.deepEqual(ignored, []);
  assert.deepEqual(events, [
    {
      kind: 'message',
      platformMessageId: '1111111:1365',
      text: 'Dzień dobry, czy zamówienie już wysłane?',
      sentAt: 1441645532000,
      externalUserId: '1111111',
      displayName: 'Zofia Wójcik',
      handle: '@zofia_w',
    },
  ]);
});

test('/start <payload> is the deep link: a start event carrying the token', () => {
  const { events } = parse(fixture('start-deep-link.json'));
  assert.deepEqual(events, [
    {
      kind: 'start',
      eventId: 'update:10001',
      sentAt: 1441645600000,
      deepLinkToken: 'vt_AbC123-xyz',
      externalUserId: '2222222',
      displayName: 'Piotr',
      handle: undefined,
    },
  ]);
  const bare = parse(Buffer.from(JSON.stringify({ update_id: 5, message: { ...baseMessage(), text: '/start' } })));
  assert.equal(bare.events[0]?.kind, 'start');
  assert.equal((bare.events[0] as { deepLinkToken?: string }).deepLinkToken, undefined);
});

test('a photo with a caption: the caption as text, the largest size as the attachment', () => {
  const { events } = parse(fixture('photo-caption.json'));
  const m = events[0];
  assert.equal(m?.kind, 'message');
  if (m?.kind !== 'message') return;
  assert.equal(m.text, 'Uszkodzona paczka');
  assert.deepEqual(m.attachments, [{ type: 'photo', fileId: 'AgACAgIAAxkBAAIBlarge' }]);
});

test("the user's own contact gives the client's phone in E.164", () => {
  const m = parse(fixture('contact-own-phone.json')).events[0];
  assert.equal(m?.kind, 'message');
  if (m?.kind !== 'message') return;
  assert.equal(m.phone, '+48601234567');
  assert.deepEqual(m.attachments, [{ type: 'contact', name: 'Zofia +48601234567' }]);
});

test('my_chat_member kicked → blocked; member → reachable again', () => {
  assert.deepEqual(parse(fixture('my-chat-member-kicked.json')).events, [
    { kind: 'unreachable', externalUserId: '1111111', reason: 'blocked', eventId: 'update:10004' },
  ]);
  const doc = JSON.parse(fixture('my-chat-member-kicked.json').toString('utf8'));
  doc.update_id = 10010;
  doc.my_chat_member.new_chat_member = { user: doc.my_chat_member.new_chat_member.user, status: 'member' };
  assert.deepEqual(parse(Buffer.from(JSON.stringify(doc))).events, [
    { kind: 'reachable', externalUserId: '1111111', eventId: 'update:10010' },
  ]);
});

test('group chats, edits and unknown update types are acknowledged and ignored', () => {
  for (const f of ['group-message.json', 'edited-message.json']) {
    const r = parse(fixture(f));
    assert.deepEqual(r.events, [], f);
    assert.equal(r.ignored.length, 1, f);
  }
  const r = parse(Buffer.from('{"update_id":9,"poll":{"id":"1"}}'));
  assert.deepEqual(r.events, []);
  assert.match(r.ignored[0]!, /poll/);
});

test('malformed bodies throw (the webhook answers 400)', () => {
  for (const body of ['', '{', 'null', '[]', '{"message":{}}', '{"update_id":"1"}']) {
    assert.throws(() => parse(Buffer.from(body)), Error, body);
  }
});

function baseMessage() {
  return {
    message_id: 3,
    from: { id: 42, is_bot: false, first_name: 'Ala' },
    chat: { id: 42, first_name: 'Ala', type: 'private' },
    date: 1_700_000_000,
  };
}
