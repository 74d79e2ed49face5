import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type Simulator, startSimulator } from '../../../simulator/server.js';
import { ValidationError } from '../../core/errors.js';
import { SendError } from '../outbound.js';
import {
  retryAfterMs,
  SmsGatewaySender,
  type SmsGatewaySendRequest,
  signature,
  signedHeaders,
  verifySignature,
} from './api.js';
import { parse } from './inbound.js';

/**
 * The HTTP SMS gateway protocol (docs/SMS-GATEWAY.md) from our side: the sender against the
 * simulator's gateway (an independent implementation of the same page), the signing helpers, and
 * the callback parser.
 */

const SECRET = 'wspolny-sekret-bramki-0123456789';
const target = { projectId: 1, channelId: 1, externalUserId: '+48601234567', fromNumber: '+48221234567' };

async function sendError(p: Promise<unknown>): Promise<SendError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SendError, `a SendError, not ${String(e)}`);
    return e;
  }
  assert.fail('the send should have failed');
}

describe('SmsGatewaySender against the simulator', () => {
  let sim: Simulator;
  let sendUrl: string;
  let sender: SmsGatewaySender;

  before(async () => {
    sim = await startSimulator({ retry: { attempts: 1, delayMs: 5 } });
    sim.smsGateway.configure({ secret: SECRET, receipts: null });
    sendUrl = `${sim.urls.smsGateway}/send`;
    sender = new SmsGatewaySender({ sendUrl, secret: SECRET });
  });
  after(async () => {
    await sim?.close();
  });

  test('a Polish text goes out signed, as UCS-2 from our number; the gateway id comes back', async () => {
    const r = await sender.send(target, { messageId: 101, text: 'Dzień dobry! Paczka wyjdzie jutro.' });
    const [sent, ...more] = sim.smsGateway.sent();
    assert.equal(more.length, 0);
    assert.ok(sent);
    assert.equal(r.platformMessageId, sent.messageId);
    assert.deepEqual(
      {
        id: sent.id,
        from: sent.from,
        fromType: sent.fromType,
        to: sent.to,
        encoding: sent.encoding,
        segments: sent.segments,
      },
      { id: '101', from: '+48221234567', fromType: 'number', to: '+48601234567', encoding: 'ucs2', segments: 1 },
    );
    assert.equal(sent.text, 'Dzień dobry! Paczka wyjdzie jutro.');
    assert.equal(sim.smsGateway.calls().at(-1)?.signatureOk, true);
  });

  test('GSM text: gsm7 and its segment count; outbound-only sends as "SMS"; no number, no from', async () => {
    await sender.send({ ...target, outboundOnly: true }, { messageId: 102, text: 'x'.repeat(161) });
    await sender.send({ ...target, fromNumber: null }, { messageId: 103, text: 'Zamowienie gotowe' });
    const [long, plain] = sim.smsGateway.sent().slice(-2);
    assert.deepEqual([long?.from, long?.fromType, long?.encoding, long?.segments], ['SMS', 'alphanumeric', 'gsm7', 2]);
    const body = JSON.parse(sim.smsGateway.calls().at(-1)!.body) as SmsGatewaySendRequest;
    assert.equal(plain?.from, null);
    assert.ok(!('from' in body) && !('fromType' in body), 'no from and fromType at all');
  });

  test('the same message id again: the same gateway id, sent once (idempotency)', async () => {
    const before = sim.smsGateway.sent().length;
    const first = await sender.send(target, { messageId: 104, text: 'Raz' });
    const again = await sender.send(target, { messageId: 104, text: 'Raz' });
    assert.equal(again.platformMessageId, first.platformMessageId);
    assert.equal(sim.smsGateway.sent().length, before + 1);
  });

  test('429 with Retry-After: transient, with the delay', async () => {
    sim.smsGateway.failNext({ kind: 'rateLimit', retryAfterSeconds: 7 });
    const e = await sendError(sender.send(target, { messageId: 105, text: 'Za szybko' }));
    assert.equal(e.kind, 'transient');
    assert.equal(e.reason, 'rate_limited');
    assert.equal(e.retryAfterMs, 7000);
  });

  test('5xx: transient, nothing recorded as sent; the retry goes through', async () => {
    const before = sim.smsGateway.sent().length;
    sim.smsGateway.failNext({ kind: 'serverError', status: 502 });
    const e = await sendError(sender.send(target, { messageId: 106, text: 'Awaria' }));
    assert.equal(e.kind, 'transient');
    assert.equal(e.reason, 'gateway_unavailable');
    assert.match(e.message, /answered HTTP 502/);
    assert.equal(sim.smsGateway.sent().length, before);
    assert.ok((await sender.send(target, { messageId: 106, text: 'Awaria' })).platformMessageId);
  });

  test('invalid number: permanent with the gateway’s code, injected or real', async () => {
    sim.smsGateway.failNext({ kind: 'invalidNumber' });
    const injected = await sendError(sender.send(target, { messageId: 107, text: 'Halo' }));
    assert.equal(injected.kind, 'permanent');
    assert.equal(injected.reason, 'invalid_number');
    assert.match(injected.message, /not a valid mobile number/);

    const real = await sendError(
      sender.send({ ...target, externalUserId: '601234567' }, { messageId: 108, text: 'Halo' }),
    );
    assert.equal(real.kind, 'permanent');
    assert.equal(real.reason, 'invalid_number');
  });

  test('opted_out marks the client unreachable; a code unfit to show becomes gateway_rejected', async () => {
    sim.smsGateway.failNext({ kind: 'error', code: 'opted_out', message: 'The recipient sent STOP' });
    const stop = await sendError(sender.send(target, { messageId: 109, text: 'Promocja' }));
    assert.equal(stop.kind, 'permanent');
    assert.equal(stop.reason, 'opted_out');
    assert.equal(stop.unreachable, 'unsubscribed');
    assert.match(stop.message, /The recipient sent STOP/);

    sim.smsGateway.failNext({ kind: 'error', status: 400, code: '<b>Zła treść</b>' });
    const odd = await sendError(sender.send(target, { messageId: 109, text: 'Promocja' }));
    assert.equal(odd.kind, 'permanent');
    assert.equal(odd.reason, 'gateway_rejected');
    assert.equal(odd.unreachable, undefined);
  });

  test('a wrong secret or a clock 10 minutes off: the gateway refuses our signature → permanent gateway_auth', async () => {
    const wrong = new SmsGatewaySender({ sendUrl, secret: 'not-the-shared-secret-at-all' });
    const e = await sendError(wrong.send(target, { messageId: 110, text: 'Halo' }));
    assert.equal(e.kind, 'permanent');
    assert.equal(e.reason, 'gateway_auth');
    assert.equal(sim.smsGateway.calls().at(-1)?.signatureOk, false);

    const late = new SmsGatewaySender({ sendUrl, secret: SECRET, clock: () => Date.now() - 600_000 });
    assert.equal((await sendError(late.send(target, { messageId: 111, text: 'Halo' }))).reason, 'gateway_auth');
    assert.equal(sim.smsGateway.calls().at(-1)?.signatureOk, false);

    sim.smsGateway.failNext({ kind: 'unauthorized' });
    assert.equal((await sendError(sender.send(target, { messageId: 112, text: 'Halo' }))).reason, 'gateway_auth');
  });

  test('no answer in time, or nobody listening: transient, naming the host and never the URL’s key', async () => {
    sim.smsGateway.setLatency(300);
    try {
      const slow = new SmsGatewaySender({ sendUrl: `${sendUrl}?apikey=tajny-klucz`, secret: SECRET, timeoutMs: 50 });
      const e = await sendError(slow.send(target, { messageId: 113, text: 'Halo' }));
      assert.equal(e.kind, 'transient');
      assert.equal(e.reason, 'gateway_timeout');
      assert.ok(!e.message.includes('tajny-klucz'));
    } finally {
      sim.smsGateway.setLatency(0);
    }
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const nobody = new SmsGatewaySender({ sendUrl: `http://127.0.0.1:${port}/send`, secret: SECRET });
    const e = await sendError(nobody.send(target, { messageId: 114, text: 'Halo' }));
    assert.equal(e.kind, 'transient');
    assert.equal(e.reason, 'gateway_unreachable');
  });

  test('an empty text is refused before any request', async () => {
    const calls = sim.smsGateway.calls().length;
    assert.equal((await sendError(sender.send(target, { messageId: 115, text: '' }))).reason, 'empty_text');
    assert.equal(sim.smsGateway.calls().length, calls);
  });
});

describe('signing', () => {
  const body = Buffer.from('{"type":"message","text":"Zażółć"}');
  const now = Date.UTC(2026, 2, 1, 10, 15, 0);

  test('the documented construction: sha256= hex HMAC of "<timestamp>.<raw body>"', () => {
    const h = signedHeaders(SECRET, body, now);
    assert.equal(h['X-Dziennik-Timestamp'], String(now / 1000));
    const expected = createHmac('sha256', SECRET)
      .update(`${now / 1000}.${body.toString('utf8')}`)
      .digest('hex');
    assert.equal(h['X-Dziennik-Signature'], `sha256=${expected}`);
    assert.equal(signature(SECRET, now / 1000, body.toString('utf8')), h['X-Dziennik-Signature']);
  });

  test('verify: good, tampered, wrong secret, stale either way, missing, malformed', () => {
    const h = signedHeaders(SECRET, body, now);
    const lower = {
      'x-dziennik-timestamp': h['X-Dziennik-Timestamp'],
      'x-dziennik-signature': h['X-Dziennik-Signature'],
    };
    assert.deepEqual(verifySignature(body, lower, SECRET, now + 299_000), { ok: true });
    const reason = (b: Buffer, headers: Record<string, string>, secret: string | undefined, at: number) => {
      const r = verifySignature(b, headers, secret, at);
      return r.ok ? 'ok' : r.reason;
    };
    assert.equal(reason(Buffer.from(`${body.toString()} `), lower, SECRET, now), 'mismatch');
    assert.equal(reason(body, lower, 'another-secret-0123456789', now), 'mismatch');
    assert.equal(reason(body, lower, undefined, now), 'mismatch');
    assert.equal(reason(body, lower, SECRET, now + 301_000), 'stale');
    assert.equal(reason(body, lower, SECRET, now - 301_000), 'stale');
    assert.equal(reason(body, { 'x-dziennik-timestamp': lower['x-dziennik-timestamp'] }, SECRET, now), 'missing');
    assert.equal(
      reason(body, { ...lower, 'x-dziennik-signature': lower['x-dziennik-signature'].slice(7) }, SECRET, now),
      'malformed',
    );
    assert.equal(reason(body, { ...lower, 'x-dziennik-timestamp': '2026-03-01T10:15:00Z' }, SECRET, now), 'malformed');
  });

  test('Retry-After as seconds or an HTTP date', () => {
    assert.equal(retryAfterMs('30', now), 30_000);
    assert.equal(retryAfterMs(new Date(now + 90_000).toUTCString(), now), 90_000);
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(null, now), undefined);
  });
});

describe('parse', () => {
  const now = Date.UTC(2026, 2, 1, 12, 0, 0);
  const raw = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
  const fields = (v: unknown) => {
    try {
      parse(raw(v), now);
    } catch (e) {
      assert.ok(e instanceof ValidationError);
      return e.fields?.map((f) => f.field);
    }
    assert.fail('should not parse');
  };

  test('a message: numbers to E.164, the id kept apart from sent ids, receivedAt with its offset', () => {
    const [e] = parse(
      raw({
        type: 'message',
        id: 'in-8812',
        from: '0048 601 234 567',
        to: '+48 22 123 45 67',
        text: 'Czy mogę odebrać?',
        receivedAt: '2026-03-01T11:15:00+01:00',
      }),
      now,
    );
    assert.deepEqual(e, {
      kind: 'message',
      to: '+48221234567',
      field: 'body.to',
      event: {
        kind: 'message',
        platformMessageId: 'mo:in-8812',
        externalUserId: '+48601234567',
        phone: '+48601234567',
        text: 'Czy mogę odebrać?',
        sentAt: Date.UTC(2026, 2, 1, 10, 15, 0),
      },
    });
    const [noTime] = parse(raw({ type: 'message', id: 7, from: '+48601234567', to: '+48221234567', text: '' }), now);
    assert.equal(noTime?.kind === 'message' && noTime.event.sentAt, now);
    assert.equal(noTime?.kind === 'message' && noTime.event.platformMessageId, 'mo:7');
  });

  test('status reports, a batch, and an unknown type ignored', () => {
    const events = parse(
      raw({
        events: [
          { type: 'status', messageId: 'gw-1', status: 'delivered' },
          { type: 'status', messageId: 'gw-2', status: 'failed', error: 'absent subscriber' },
          { type: 'keepalive' },
        ],
      }),
      now,
    );
    assert.deepEqual(events, [
      { kind: 'receipt', event: { kind: 'receipt', platformMessageId: 'gw-1', status: 'delivered' } },
      {
        kind: 'receipt',
        event: { kind: 'receipt', platformMessageId: 'gw-2', status: 'failed', failureReason: 'absent subscriber' },
      },
      { kind: 'ignored', type: 'keepalive' },
    ]);
  });

  test('every bad field is named, with its place in a batch', () => {
    assert.deepEqual(fields('{"type":'), ['body']);
    assert.deepEqual(fields([1]), ['body']);
    assert.deepEqual(fields({ text: 'x' }), ['body.type']);
    assert.deepEqual(fields({ type: 'message', id: 'a', from: '601234567', to: '+48221234567', text: 'x' }), [
      'body.from',
    ]);
    assert.deepEqual(
      fields({
        events: [
          { type: 'message', id: 'a', from: '+48601234567', to: '+48221234567', text: 'x' },
          { type: 'message', id: '', from: '+4860', to: '+48221234567', text: 'x', receivedAt: 'wczoraj' },
          { type: 'status', messageId: 'gw-1', status: 'read' },
        ],
      }),
      ['body.events.1.id', 'body.events.1.from', 'body.events.1.receivedAt', 'body.events.2.status'],
    );
    assert.deepEqual(fields({ events: [] }), ['body.events']);
  });
});
