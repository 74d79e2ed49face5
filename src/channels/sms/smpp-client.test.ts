// The SMPP client against the simulator SMSC (simulator/smsc.ts), and against a raw TCP peer for
// what a well-behaved SMSC never sends (unknown commands, broken lengths, silence).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from '../../../simulator/server.js';
import type { InboundMessageEvent, InboundReceiptEvent } from '../../core/inbound.js';
import {
  SmppBindError,
  SmppClient,
  type SmppClientOptions,
  type SmppMoMeta,
  SmppSubmitError,
  type SmppTiming,
} from './smpp-client.js';
import { SmppSender } from './smpp-sender.js';

const PASSWORD = 'haslo123';
const FAST: Partial<SmppTiming> = {
  connectTimeoutMs: 2000,
  responseTimeoutMs: 2000,
  enquireLinkTimeoutMs: 1000,
  reconnectMinMs: 20,
  reconnectMaxMs: 100,
  throttleDelayMs: 10,
  ackConfirmDelayMs: 10,
  closeGraceMs: 200,
};

let sim: Simulator;
const clients: SmppClient[] = [];
let accounts = 0;

before(async () => {
  sim = await startSimulator({ smsc: { enquireLinkIntervalMs: 0, responseTimeoutMs: 1000 } });
});
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sim.close();
});

/** A fresh SMSC account per test, so that no test sees another's traffic. */
function account(): string {
  const systemId = `esme${++accounts}`;
  sim.smsc.addAccount({ systemId, password: PASSWORD });
  return systemId;
}

interface Recorded {
  client: SmppClient;
  mo: { ev: InboundMessageEvent; meta: SmppMoMeta }[];
  receipts: InboundReceiptEvent[];
}

function client(
  systemId: string,
  opts: Partial<SmppClientOptions> & { password?: string; port?: number; enquireLinkSeconds?: number } = {},
): Recorded {
  const rec: Recorded = { client: undefined as unknown as SmppClient, mo: [], receipts: [] };
  rec.client = new SmppClient({
    credentials: {
      host: sim.smpp.host,
      port: opts.port ?? sim.smpp.port,
      systemId,
      password: opts.password ?? PASSWORD,
      ...(opts.enquireLinkSeconds ? { enquireLinkSeconds: opts.enquireLinkSeconds } : {}),
    },
    timing: { ...FAST, ...opts.timing },
    onMo:
      opts.onMo ??
      ((ev, meta) => {
        rec.mo.push({ ev, meta });
      }),
    onReceipt:
      opts.onReceipt ??
      ((ev) => {
        rec.receipts.push(ev);
      }),
  });
  clients.push(rec.client);
  return rec;
}

async function until<T>(f: () => T | undefined | false, timeoutMs = 4000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const US = '+48500100200';
const CLIENT = '+48601234567';
const send = (c: SmppClient, text: string, over: Partial<Parameters<SmppClient['submit']>[0]> = {}) =>
  c.submit({ from: US, outboundOnly: false, to: CLIENT, text, ...over });
const messageOf = (systemId: string, firstId: string) =>
  sim.smsc.messages(systemId).find((m) => m.parts[0]?.messageId === firstId);

test('bind_transceiver with interface_version 0x34; a wrong password is refused with ESME_RINVPASWD', async () => {
  const acc = account();
  const { client: c } = client(acc);
  await c.connect();
  assert.equal(c.state, 'bound');
  assert.ok(sim.smsc.sessions().some((s) => s.systemId === acc && s.mode === 'transceiver'));

  const { client: wrong } = client(acc, { password: 'zle' });
  await assert.rejects(wrong.connect(), (e: unknown) => e instanceof SmppBindError && e.commandStatus === 0x0e);
  assert.equal(wrong.isBound, false);
  await assert.rejects(send(wrong, 'x'), (e: unknown) => e instanceof SmppSubmitError && e.reason === 'not_bound');
  await wrong.close();

  // close() unbinds: the SMSC forgets the session, and nothing reconnects.
  await c.close();
  assert.equal(c.state, 'closed');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(sim.smsc.sessions().filter((s) => s.systemId === acc).length, 0);
  await assert.rejects(send(c, 'x'), (e: unknown) => e instanceof SmppSubmitError && e.reason === 'closed');
});

test('GSM 03.38 and Polish UCS-2 texts: data_coding explicit, numbers as TON 1 / NPI 1 without "+"', async () => {
  const acc = account();
  const { client: c } = client(acc);
  await c.connect();

  const gsm = 'Cena 10 EUR {ok} @ 50% - ~[x]';
  const [gsmId] = await send(c, gsm);
  const g = messageOf(acc, gsmId!)!;
  assert.equal(g.text, gsm);
  assert.equal(g.dataCoding, 0);
  assert.deepEqual(g.from, { ton: 1, npi: 1, addr: '48500100200' });
  assert.deepEqual(g.to, { ton: 1, npi: 1, addr: '48601234567' });
  assert.equal(g.parts[0]!.registeredDelivery, 1);
  assert.equal(g.parts[0]!.esmClass, 0);

  const polish = 'Zażółć gęślą jaźń — ZAŻÓŁĆ';
  const [plId] = await send(c, polish);
  const p = messageOf(acc, plId!)!;
  assert.equal(p.dataCoding, 8);
  assert.equal(p.text, polish);
  assert.deepEqual(p.parts[0]!.shortMessage, Buffer.from(polish, 'utf16le').swap16());

  // TON / NPI of our numbers as a channel may configure them (SPEC §7).
  const national = new SmppClient({
    credentials: {
      host: sim.smpp.host,
      port: sim.smpp.port,
      systemId: acc,
      password: PASSWORD,
      sourceTon: 2,
      sourceNpi: 1,
    },
    timing: FAST,
  });
  clients.push(national);
  await national.connect();
  const [natId] = await send(national, 'Hej');
  assert.deepEqual(messageOf(acc, natId!)!.from, { ton: 2, npi: 1, addr: '48500100200' });
  await national.close();
  await c.close();
});

test('long texts go out as UDH parts the SMSC reassembles; the ids come back in order', async () => {
  const acc = account();
  const { client: c } = client(acc);
  await c.connect();

  const polish = 'Dziękujemy za zamówienie nr 4711. Kurier dostarczy przesyłkę jutro między 8 a 16. '.repeat(3);
  const ids = await send(c, polish);
  assert.equal(ids.length, 4);
  const m = messageOf(acc, ids[0]!)!;
  assert.equal(m.complete, true);
  assert.equal(m.text, polish);
  assert.equal(m.dataCoding, 8);
  assert.deepEqual(
    m.parts.map((p) => p.messageId),
    ids,
  );
  assert.ok(m.parts.every((p) => (p.esmClass & 0x40) === 0x40 && p.concat?.total === 4));
  assert.equal(new Set(m.parts.map((p) => p.concat?.ref)).size, 1);

  const gsm = 'Szanowni Panstwo, dziekujemy za zamowienie nr 4711 [A-Z] {1}. '.repeat(7);
  const gsmIds = await send(c, gsm);
  const g = messageOf(acc, gsmIds[0]!)!;
  assert.equal(g.complete, true);
  assert.equal(g.parts.length, gsmIds.length);
  assert.equal(g.text, gsm);
  assert.equal(g.dataCoding, 0);
  // Consecutive long messages carry different references.
  assert.notEqual(g.parts[0]!.concat!.ref, m.parts[0]!.concat!.ref);
  await c.close();
});

test('an outbound-only number sends as the alphanumeric "SMS" (TON 5, NPI 0) through the sender', async () => {
  const acc = account();
  const { client: c } = client(acc);
  await c.connect();
  const sender = new SmppSender(c);
  const r = await sender.send(
    { projectId: 1, channelId: 1, externalUserId: CLIENT, fromNumber: '+48799100200', outboundOnly: true },
    { messageId: 1, text: 'Twoja paczka czeka w automacie.' },
  );
  assert.ok(r.platformMessageId);
  assert.deepEqual(r.partIds, [r.platformMessageId]);
  const m = messageOf(acc, r.platformMessageId)!;
  assert.deepEqual(m.from, { ton: 5, npi: 0, addr: 'SMS' });
  assert.deepEqual(m.to, { ton: 1, npi: 1, addr: '48601234567' });

  const own = await sender.send(
    { projectId: 1, channelId: 1, externalUserId: CLIENT, fromNumber: US },
    { messageId: 2, text: 'Dzień dobry' },
  );
  assert.deepEqual(messageOf(acc, own.platformMessageId!)!.from, { ton: 1, npi: 1, addr: '48500100200' });
  await c.close();
});

test('receipts: DELIVRD → delivered, UNDELIV / EXPIRED → failed; acknowledged only after the handler', async () => {
  const acc = account();
  const rec = client(acc);
  await rec.client.connect();
  const receiptFor = (id: string) => until(() => rec.receipts.find((r) => r.platformMessageId === id));

  const [ok] = await send(rec.client, 'Hello');
  assert.deepEqual(await receiptFor(ok!), { kind: 'receipt', platformMessageId: ok, status: 'delivered' });

  sim.smsc.setReceipts(acc, { stat: 'UNDELIV', err: '034' });
  const [bad] = await send(rec.client, 'Hello again');
  assert.deepEqual(await receiptFor(bad!), {
    kind: 'receipt',
    platformMessageId: bad,
    status: 'failed',
    failureReason: 'UNDELIV',
  });

  // One receipt per part: the second part of a long message expires.
  sim.smsc.setReceipts(acc, (part) => (part.concat?.seq === 2 ? { stat: 'EXPIRED', err: '027' } : { stat: 'DELIVRD' }));
  const ids = await send(rec.client, 'x'.repeat(200));
  assert.equal(ids.length, 2);
  assert.equal((await receiptFor(ids[0]!)).status, 'delivered');
  assert.deepEqual(await receiptFor(ids[1]!), {
    kind: 'receipt',
    platformMessageId: ids[1],
    status: 'failed',
    failureReason: 'EXPIRED',
  });

  // ACCEPTD is not final: acknowledged, not reported.
  sim.smsc.setReceipts(acc, { stat: 'ACCEPTD' });
  const [accepted] = await send(rec.client, 'Hello?');
  await until(() => sim.smsc.delivers(acc).find((d) => d.receiptedMessageId === accepted)?.responseStatus === 0);
  assert.equal(
    rec.receipts.find((r) => r.platformMessageId === accepted),
    undefined,
  );
  await rec.client.close();

  // The deliver_sm_resp waits for the handler (the event is stored before it is acknowledged).
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const slow = client(acc, { onReceipt: () => gate });
  await slow.client.connect();
  sim.smsc.setReceipts(acc, { stat: 'DELIVRD' });
  const [held] = await send(slow.client, 'Wait for me');
  const record = await until(() => sim.smsc.delivers(acc).find((d) => d.receiptedMessageId === held));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(record.responseStatus, null);
  release();
  await until(() => record.responseStatus === 0);
  await slow.client.close();
});

test('MO: one part and a concatenated one arrive as one message each, the sender in E.164', async () => {
  const acc = account();
  const rec = client(acc);
  await rec.client.connect();

  assert.deepEqual(await sim.smsc.sendMo(acc, { from: '48601234567', to: '48500100200', text: 'Dzień dobry' }), [0]);
  const first = rec.mo[0]!;
  assert.equal(first.ev.kind, 'message');
  assert.equal(first.ev.text, 'Dzień dobry');
  assert.equal(first.ev.externalUserId, '+48601234567');
  assert.equal(first.ev.phone, '+48601234567');
  assert.match(first.ev.platformMessageId, /^[0-9a-f]{32}\.[0-9a-z]+$/);
  assert.equal(first.meta.to, US);
  assert.equal(first.meta.parts, 1);

  const long =
    'Proszę o kontakt w sprawie zamówienia, które złożyłam wczoraj wieczorem przez stronę — pilne! ' +
    'Paczka miała być dziś, a kurier nie dzwonił. Numer zamówienia: 4711/2026. Dziękuję 🙂';
  const statuses = await sim.smsc.sendMo(acc, { from: '48601234567', to: '48500100200', text: long });
  assert.equal(statuses.length, 3);
  assert.deepEqual(statuses, [0, 0, 0]);
  assert.equal(rec.mo.length, 2);
  assert.equal(rec.mo[1]!.ev.text, long);
  assert.equal(rec.mo[1]!.meta.parts, 3);

  const gsm = 'Cena 10 EUR {ok}? '.repeat(12);
  await sim.smsc.sendMo(acc, { from: '48601234567', to: '48500100200', text: gsm });
  assert.equal(rec.mo[2]!.ev.text, gsm);
  assert.equal(rec.mo[2]!.meta.dataCoding, 0);

  // An alphanumeric sender (TON 5) keeps its text as the identity.
  await sim.smsc.sendMo(acc, { from: 'ALLEGRO', fromTon: 5, fromNpi: 0, to: '48500100200', text: 'Kod: 1234' });
  assert.equal(rec.mo[3]!.ev.externalUserId, 'ALLEGRO');
  assert.equal(rec.mo[3]!.ev.phone, undefined);
  // A national number (TON 2) is read in the country of the receiving number.
  await sim.smsc.sendMo(acc, { from: '601234567', fromTon: 2, to: '48500100200', text: 'Tak' });
  assert.equal(rec.mo[4]!.ev.externalUserId, '+48601234567');
  await rec.client.close();
});

test('MO: a handler failure answers ESME_RX_T_APPN; invalid UCS-2 answers ESME_RX_P_APPN; both keep running', async () => {
  const acc = account();
  let fail = true;
  const seen: string[] = [];
  const rec = client(acc, {
    onMo: (ev) => {
      if (fail) throw new Error('database down');
      seen.push(ev.text);
    },
  });
  await rec.client.connect();
  assert.deepEqual(await sim.smsc.sendMo(acc, { from: '48601234567', to: '48500100200', text: 'Halo' }), [0x64]);
  fail = false;
  // A lone high surrogate in UCS-2.
  assert.deepEqual(
    await sim.smsc.sendMo(acc, { from: '48601234567', to: '48500100200', text: 'a\ud800b', dataCoding: 8 }),
    [0x65],
  );
  assert.deepEqual(seen, []);
  assert.deepEqual(await sim.smsc.sendMo(acc, { from: '48601234567', to: '48500100200', text: 'Halo?' }), [0]);
  assert.deepEqual(seen, ['Halo?']);
  assert.equal(rec.client.isBound, true);
  await rec.client.close();
});

test('throttling: ESME_RTHROTTLED and ESME_RMSGQFUL are retried; when they persist the send fails transiently', async () => {
  const acc = account();
  const throttled: unknown[] = [];
  const c = new SmppClient({
    credentials: { host: sim.smpp.host, port: sim.smpp.port, systemId: acc, password: PASSWORD },
    timing: FAST,
    log: { info: (obj, msg) => msg?.includes('throttled') && throttled.push(obj), warn() {}, error() {} },
  });
  clients.push(c);
  await c.connect();
  sim.smsc.failNext({ command_status: 0x58 }, { times: 2 });
  const [id] = await send(c, 'Throttled twice');
  assert.equal(messageOf(acc, id!)!.text, 'Throttled twice');
  assert.deepEqual(
    throttled.map((o) => (o as { attempt: number; status: number }).attempt),
    [1, 2],
  );

  sim.smsc.failNext({ command_status: 0x14 });
  await send(c, 'Queue full once');

  sim.smsc.failNext({ command_status: 0x58 }, { times: 10 });
  await assert.rejects(
    send(c, 'Never'),
    (e: unknown) =>
      e instanceof SmppSubmitError &&
      e.kind === 'transient' &&
      e.reason === 'throttled' &&
      e.commandStatus === 0x58 &&
      (e.retryAfterMs ?? 0) > 0,
  );
  sim.smsc.clearFaults();
  await send(c, 'And now it works');
  await c.close();
});

test('command_status: invalid destination is permanent, a system error transient; bad input never reaches the SMSC', async () => {
  const acc = account();
  const { client: c } = client(acc);
  await c.connect();
  sim.smsc.failNext({ command_status: 0x0b });
  await assert.rejects(
    send(c, 'x'),
    (e: unknown) => e instanceof SmppSubmitError && e.kind === 'permanent' && e.reason === 'invalid_number',
  );
  sim.smsc.failNext({ command_status: 0x08 });
  await assert.rejects(send(c, 'x'), (e: unknown) => e instanceof SmppSubmitError && e.kind === 'transient');
  const before = sim.smsc.submits(acc).length;
  await assert.rejects(
    send(c, 'x', { to: 'abc' }),
    (e: unknown) => e instanceof SmppSubmitError && e.kind === 'permanent' && e.reason === 'invalid_number',
  );
  await assert.rejects(
    send(c, ''),
    (e: unknown) => e instanceof SmppSubmitError && e.kind === 'permanent' && e.reason === 'invalid_text',
  );
  assert.equal(sim.smsc.submits(acc).length, before);

  // Through the port: SendError with the same classification.
  sim.smsc.failNext({ command_status: 0x0b });
  await assert.rejects(
    new SmppSender(c).send(
      { projectId: 1, channelId: 1, externalUserId: CLIENT, fromNumber: US },
      { messageId: 1, text: 'x' },
    ),
    (e: unknown) => e instanceof SmppSubmitError && e.name === 'SmppSubmitError' && e.reason === 'invalid_number',
  );
  await c.close();
});

test('a window of outstanding submit_sm: the rest wait, and all go out', async () => {
  const acc = account();
  const rec = client(acc);
  // Re-created with windowSize 2 and a slow SMSC.
  await rec.client.close();
  const c = new SmppClient({
    credentials: { host: sim.smpp.host, port: sim.smpp.port, systemId: acc, password: PASSWORD, windowSize: 2 },
    timing: FAST,
  });
  clients.push(c);
  await c.connect();
  sim.smsc.setLatency(30);
  const t0 = Date.now();
  const all = await Promise.all(Array.from({ length: 6 }, (_, i) => send(c, `Wiadomość ${i}`)));
  const elapsed = Date.now() - t0;
  sim.smsc.clearFaults();
  assert.equal(new Set(all.flat()).size, 6);
  // Six submits two at a time behind 30 ms of latency: at least three rounds.
  assert.ok(elapsed >= 80, `took ${elapsed} ms`);
  await c.close();
});

test('the SMSC drops the connection: the client reconnects and goes on; unacknowledged deliver_sm come again', async () => {
  const acc = account();
  let calls = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const mo: { ev: InboundMessageEvent; meta: SmppMoMeta }[] = [];
  const rec = client(acc, {
    onMo: async (ev, meta) => {
      calls += 1;
      mo.push({ ev, meta });
      if (calls === 1) await gate;
    },
  });
  const c = rec.client;
  await c.connect();
  const port = () => sim.smsc.sessions().find((s) => s.systemId === acc && s.mode)?.remotePort;
  const firstPort = port();

  // The first deliver_sm is being stored when the link drops: its ack never reaches the SMSC.
  const delivered = sim.smsc.sendMo(acc, { from: '48601234567', to: '48500100200', text: 'nie zgub mnie' });
  await until(() => calls === 1);
  sim.smsc.dropConnections(acc);
  await assert.rejects(send(c, 'while down'), (e: unknown) => e instanceof SmppSubmitError && e.kind === 'transient');
  release();
  await until(() => c.isBound && port() !== undefined && port() !== firstPort);
  assert.deepEqual(await delivered, [0]);
  assert.equal(calls, 2);
  // The redelivery carries the same id, so the store keeps one message.
  assert.equal(mo[1]!.ev.platformMessageId, mo[0]!.ev.platformMessageId);
  assert.equal(mo[1]!.meta.redelivery, true);

  // Sending goes on over the new session.
  const [id] = await send(c, 'po przerwie');
  assert.equal(messageOf(acc, id!)!.text, 'po przerwie');

  // The same text written again once the ack was confirmed is a new message.
  await new Promise((r) => setTimeout(r, 100));
  await sim.smsc.sendMo(acc, { from: '48601234567', to: '48500100200', text: 'nie zgub mnie' });
  assert.equal(calls, 3);
  assert.notEqual(mo[2]!.ev.platformMessageId, mo[0]!.ev.platformMessageId);
  assert.equal(mo[2]!.meta.redelivery, false);

  // An unbind from the SMSC (§4.2) is answered, and the client binds again.
  const before = port();
  await sim.smsc.unbind(acc);
  await until(() => c.isBound && port() !== undefined && port() !== before);
  assert.deepEqual(await sim.smsc.enquireLink(acc), [0]);
  await c.close();
});

test('enquire_link from the SMSC is answered', async () => {
  const acc = account();
  const { client: c } = client(acc);
  await c.connect();
  assert.deepEqual(await sim.smsc.enquireLink(acc), [0]);
  assert.deepEqual(await sim.smsc.enquireLink(acc), [0]);
  await c.close();
});

// ---------------------------------------------------------------------------------------------
// A raw peer: binds anyone, records what it receives, and sends whatever the test writes.

interface PduOut {
  command_status?: number;
  sequence_number?: number;
  [k: string]: unknown;
}
const smpp = createRequire(import.meta.url)('smpp') as {
  PDU: new (command: string, options?: PduOut) => { toBuffer(): Buffer };
};
const encode = (command: string, options: PduOut = {}) => new smpp.PDU(command, options).toBuffer();

interface RawPdu {
  id: number;
  status: number;
  seq: number;
  raw: Buffer;
}
interface Peer {
  port: number;
  connections: number;
  binds: number;
  received: RawPdu[];
  write(b: Buffer): void;
  close(): Promise<void>;
}

async function rawPeer(opts: { answerEnquireLink: boolean }): Promise<Peer> {
  const sockets = new Set<net.Socket>();
  let current: net.Socket | null = null;
  const peer: Peer = {
    port: 0,
    connections: 0,
    binds: 0,
    received: [],
    write: (b) => current?.write(b),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    peer.connections += 1;
    current = socket;
    let buf = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 16 && buf.length >= buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        const raw = buf.subarray(0, len);
        buf = buf.subarray(len);
        const pdu = { id: raw.readUInt32BE(4), status: raw.readUInt32BE(8), seq: raw.readUInt32BE(12), raw };
        peer.received.push(pdu);
        if (pdu.id === 0x09) {
          peer.binds += 1;
          socket.write(encode('bind_transceiver_resp', { sequence_number: pdu.seq, system_id: 'RAW' }));
        } else if (pdu.id === 0x15 && opts.answerEnquireLink) {
          socket.write(encode('enquire_link_resp', { sequence_number: pdu.seq }));
        } else if (pdu.id === 0x06) {
          socket.write(encode('unbind_resp', { sequence_number: pdu.seq }));
          socket.end();
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  peer.port = (server.address() as net.AddressInfo).port;
  return peer;
}

const deliverSm = (seq: number, over: PduOut) =>
  encode('deliver_sm', {
    sequence_number: seq,
    source_addr_ton: 1,
    source_addr_npi: 1,
    source_addr: '48601234567',
    dest_addr_ton: 1,
    dest_addr_npi: 1,
    destination_addr: '48500100200',
    esm_class: 0,
    data_coding: 8,
    ...over,
  });
const answerTo = (peer: Peer, seq: number) =>
  until(() => peer.received.find((p) => p.seq === seq && (p.id & 0x80000000) !== 0));

test('a raw peer: unknown commands, broken bodies and 16-bit concatenation; a lost framing reconnects', async () => {
  const peer = await rawPeer({ answerEnquireLink: true });
  try {
    const rec = client('raw', { port: peer.port });
    await rec.client.connect();

    // §4.3: unknown command_id → generic_nack ESME_RINVCMDID with the same sequence_number.
    const unknown = Buffer.alloc(16);
    unknown.writeUInt32BE(16, 0);
    unknown.writeUInt32BE(0x00000999, 4);
    unknown.writeUInt32BE(77, 12);
    peer.write(unknown);
    const nack = await answerTo(peer, 77);
    assert.equal(nack.id, 0x80000000);
    assert.equal(nack.status, 0x03);

    // A deliver_sm whose body is shorter than its fields: generic_nack, and the session lives on.
    const short = Buffer.alloc(20);
    short.writeUInt32BE(20, 0);
    short.writeUInt32BE(0x05, 4);
    short.writeUInt32BE(78, 12);
    peer.write(short);
    assert.equal((await answerTo(peer, 78)).status, 0x02);

    // 16-bit reference UDH (IEI 0x08), an emoji split across the two parts.
    const text = Buffer.from('Dzień dobry 🙂 pozdrawiam', 'utf16le').swap16();
    const cut = Buffer.from('Dzień dobry ', 'utf16le').length + 2; // after the high surrogate
    const part = (seq: number, body: Buffer) =>
      Buffer.concat([Buffer.from([0x06, 0x08, 0x04, 0x12, 0x34, 0x02, seq]), body]);
    peer.write(deliverSm(80, { esm_class: 0x40, short_message: part(1, text.subarray(0, cut)) }));
    assert.equal((await answerTo(peer, 80)).status, 0);
    assert.equal(rec.mo.length, 0);
    peer.write(deliverSm(81, { esm_class: 0x40, short_message: part(2, text.subarray(cut)) }));
    assert.equal((await answerTo(peer, 81)).status, 0);
    assert.equal(rec.mo.length, 1);
    assert.equal(rec.mo[0]!.ev.text, 'Dzień dobry 🙂 pozdrawiam');

    // An odd number of UCS-2 octets is not text: ESME_RX_P_APPN.
    peer.write(deliverSm(82, { short_message: Buffer.from([0x00, 0x41, 0x00]) }));
    assert.equal((await answerTo(peer, 82)).status, 0x65);

    // A receipt by TLV only (no Appendix B text), with message_state 5 (UNDELIVERABLE).
    peer.write(
      deliverSm(83, {
        esm_class: 0x04,
        data_coding: 0,
        short_message: Buffer.alloc(0),
        receipted_message_id: 'abc123',
        message_state: 5,
      }),
    );
    assert.equal((await answerTo(peer, 83)).status, 0);
    assert.deepEqual(rec.receipts, [
      { kind: 'receipt', platformMessageId: 'abc123', status: 'failed', failureReason: 'UNDELIV' },
    ]);

    // An impossible command_length loses the framing: generic_nack, drop, connect and bind again.
    const broken = Buffer.alloc(16);
    broken.writeUInt32BE(8, 0);
    broken.writeUInt32BE(0x15, 4);
    broken.writeUInt32BE(90, 12);
    peer.write(broken);
    assert.equal((await answerTo(peer, 90)).status, 0x02);
    await until(() => peer.binds === 2 && rec.client.isBound);
    await rec.client.close();
  } finally {
    await peer.close();
  }
});

test('our enquire_link: an SMSC that stops answering is a dead link, and the client reconnects', async () => {
  const peer = await rawPeer({ answerEnquireLink: false });
  try {
    const rec = client('silent', {
      port: peer.port,
      timing: { enquireLinkMs: 40, enquireLinkTimeoutMs: 40 },
    });
    await rec.client.connect();
    await until(() => peer.received.some((p) => p.id === 0x15));
    await until(() => peer.connections >= 2 && peer.binds >= 2);
    await rec.client.close();
  } finally {
    await peer.close();
  }
});

test('concatenated MO: a failed last part is redelivered alone, late copies are dropped, a stalled one is handed on', async () => {
  const peer = await rawPeer({ answerEnquireLink: true });
  try {
    let failNext = true;
    const texts: string[] = [];
    const rec = client('parts', {
      port: peer.port,
      timing: { concatTimeoutMs: 100 },
      onMo: (ev) => {
        if (failNext) {
          failNext = false;
          throw new Error('database down');
        }
        texts.push(ev.text);
      },
    });
    await rec.client.connect();
    const part = (ref: number, total: number, seq: number, text: string) =>
      Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, total, seq]), Buffer.from(text, 'utf16le').swap16()]);

    peer.write(deliverSm(1, { esm_class: 0x40, short_message: part(9, 2, 1, 'Część pierwsza, ') }));
    assert.equal((await answerTo(peer, 1)).status, 0); // buffered and acknowledged at once
    peer.write(deliverSm(2, { esm_class: 0x40, short_message: part(9, 2, 2, 'część druga.') }));
    assert.equal((await answerTo(peer, 2)).status, 0x64); // the handler failed: ESME_RX_T_APPN
    // The SMSC redelivers only the unacknowledged last part; the first is still buffered.
    peer.write(deliverSm(3, { esm_class: 0x40, short_message: part(9, 2, 2, 'część druga.') }));
    assert.equal((await answerTo(peer, 3)).status, 0);
    assert.deepEqual(texts, ['Część pierwsza, część druga.']);
    // A late copy of a part of a message already handed on is acknowledged and dropped.
    peer.write(deliverSm(4, { esm_class: 0x40, short_message: part(9, 2, 1, 'Część pierwsza, ') }));
    assert.equal((await answerTo(peer, 4)).status, 0);

    // Parts that stop coming: what arrived is handed on after concatTimeoutMs, the gap marked.
    peer.write(deliverSm(5, { esm_class: 0x40, short_message: part(10, 3, 1, 'Początek ') }));
    peer.write(deliverSm(6, { esm_class: 0x40, short_message: part(10, 3, 3, ' koniec.') }));
    await answerTo(peer, 6);
    await until(() => texts.length === 2);
    assert.equal(texts[1], 'Początek […] koniec.');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(texts.length, 2); // the late copy above started no message of its own
    await rec.client.close();
  } finally {
    await peer.close();
  }
});
