// The SMSC driven by the `smpp` package as the ESME, as the app will drive it.
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from './server.js';
import type { Pdu } from './smpp-pdu.js';

type Shortcut = (options: Record<string, unknown>, onResponse: (pdu: Pdu) => void) => boolean;
interface ClientSession extends EventEmitter {
  bind_transceiver: Shortcut;
  bind_transmitter: Shortcut;
  submit_sm: Shortcut;
  enquire_link: Shortcut;
  unbind: Shortcut;
  send(pdu: Pdu): boolean;
  destroy(): void;
}
const smpp = createRequire(import.meta.url)('smpp') as {
  connect(options: { url: string; auto_enquire_link_period?: number }): ClientSession;
};

const SYSTEM_ID = 'dziennik';
const PASSWORD = 'haslo123';
let sim: Simulator;
const open: ClientSession[] = [];

function request(
  s: ClientSession,
  command: 'bind_transceiver' | 'bind_transmitter' | 'submit_sm' | 'enquire_link' | 'unbind',
  options: Record<string, unknown> = {},
): Promise<Pdu> {
  return new Promise((resolve) => s[command](options, resolve));
}

/** A client that answers deliver_sm / enquire_link like an ESME and keeps what it received. */
async function connect(autoAnswer = true): Promise<{ s: ClientSession; delivered: Pdu[]; closed: Promise<void> }> {
  const s = smpp.connect({ url: `smpp://${sim.smpp.host}:${sim.smpp.port}` });
  open.push(s);
  s.on('error', () => {});
  const delivered: Pdu[] = [];
  s.on('deliver_sm', (pdu: Pdu) => {
    delivered.push(pdu);
    if (autoAnswer) s.send(pdu.response());
  });
  s.on('enquire_link', (pdu: Pdu) => s.send(pdu.response()));
  const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
  await new Promise<void>((resolve) => s.on('connect', () => resolve()));
  return { s, delivered, closed };
}

async function bound() {
  const c = await connect();
  const r = await request(c.s, 'bind_transceiver', { system_id: SYSTEM_ID, password: PASSWORD });
  assert.equal(r.command_status, 0);
  return c;
}

async function until<T>(f: () => T | undefined, timeoutMs = 3000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const numbers = {
  source_addr_ton: 1,
  source_addr_npi: 1,
  source_addr: '48500100200',
  dest_addr_ton: 1,
  dest_addr_npi: 1,
  destination_addr: '48600700800',
};

before(async () => {
  sim = await startSimulator({ smsc: { enquireLinkIntervalMs: 0, responseTimeoutMs: 2000 } });
  sim.smsc.addAccount({ systemId: SYSTEM_ID, password: PASSWORD });
});

after(async () => {
  for (const s of open) s.destroy();
  await sim.close();
});

test('bind_transceiver: wrong password and unknown system_id are refused, then bound', async () => {
  const c = await connect();
  assert.equal(
    (await request(c.s, 'bind_transceiver', { system_id: SYSTEM_ID, password: 'zle' })).command_status,
    0x0e,
  );
  assert.equal((await request(c.s, 'bind_transceiver', { system_id: 'kto', password: PASSWORD })).command_status, 0x0f);
  const ok = await request(c.s, 'bind_transceiver', { system_id: SYSTEM_ID, password: PASSWORD });
  assert.equal(ok.command_status, 0);
  assert.equal(ok.system_id, 'DZSIM');
  assert.equal(ok.sc_interface_version, 0x34);
  assert.equal(
    (await request(c.s, 'bind_transceiver', { system_id: SYSTEM_ID, password: PASSWORD })).command_status,
    0x05,
  );
  c.s.destroy();
});

test('submit_sm before bind answers ESME_RINVBNDSTS', async () => {
  const c = await connect();
  const r = await request(c.s, 'submit_sm', { ...numbers, short_message: 'x' });
  assert.equal(r.command_status, 0x04);
  c.s.destroy();
});

test('UCS-2 text with Polish letters round-trips and gets a DELIVRD receipt', async () => {
  const c = await bound();
  const text = 'Zażółć gęślą jaźń — ZAŻÓŁĆ';
  const r = await request(c.s, 'submit_sm', {
    ...numbers,
    registered_delivery: 1,
    data_coding: 8,
    short_message: text,
  });
  assert.equal(r.command_status, 0);
  const messageId = String(r.message_id);
  assert.match(messageId, /^\d+$/);
  const rec = sim.smsc.submits(SYSTEM_ID).find((x) => x.messageId === messageId)!;
  assert.equal(rec.dataCoding, 8);
  assert.equal(rec.text, text);
  assert.deepEqual(rec.shortMessage, Buffer.from(text, 'utf16le').swap16());
  assert.deepEqual(rec.source, { ton: 1, npi: 1, addr: '48500100200' });
  assert.deepEqual(rec.destination, { ton: 1, npi: 1, addr: '48600700800' });
  assert.equal(rec.registeredDelivery, 1);

  const receipt = await until(() => c.delivered.find((p) => p.receipted_message_id === messageId));
  assert.equal(receipt.esm_class, 0x04);
  assert.equal(receipt.source_addr, '48600700800');
  assert.equal(receipt.destination_addr, '48500100200');
  assert.equal(receipt.message_state, 2);
  const body = (receipt.short_message as { message: string }).message;
  assert.match(
    body,
    new RegExp(`^id:${messageId} sub:001 dlvrd:001 submit date:\\d{10} done date:\\d{10} stat:DELIVRD err:000 text:`),
  );
  await until(() =>
    sim.smsc.delivers(SYSTEM_ID).find((d) => d.receiptedMessageId === messageId)?.responseStatus === 0
      ? true
      : undefined,
  );
  c.s.destroy();
});

test('a 3-part UDH message is reassembled, with one receipt per part', async () => {
  const c = await bound();
  const text = 'Szanowni Panstwo, dziekujemy za zamowienie nr 4711. '.repeat(8).slice(0, 400);
  const bytes = Buffer.from(text, 'ascii'); // letters, digits, space and .,: share codes in GSM 03.38
  const chunks = [bytes.subarray(0, 153), bytes.subarray(153, 306), bytes.subarray(306)];
  const ids: string[] = [];
  for (const [i, chunk] of chunks.entries()) {
    const udh = Buffer.from([0x05, 0x00, 0x03, 0x2a, 3, i + 1]);
    const r = await request(c.s, 'submit_sm', {
      ...numbers,
      esm_class: 0x40,
      data_coding: 0,
      registered_delivery: 1,
      short_message: Buffer.concat([udh, chunk]),
    });
    assert.equal(r.command_status, 0);
    ids.push(String(r.message_id));
  }
  const msg = sim.smsc.messages(SYSTEM_ID).find((m) => m.parts.some((p) => p.messageId === ids[0]))!;
  assert.equal(msg.complete, true);
  assert.equal(msg.parts.length, 3);
  assert.equal(msg.text, text);
  assert.deepEqual(
    msg.parts.map((p) => p.concat),
    [1, 2, 3].map((seq) => ({ ref: 0x2a, total: 3, seq })),
  );
  assert.deepEqual(msg.parts[0]!.udh, Buffer.from([0x05, 0x00, 0x03, 0x2a, 3, 1]));
  const receipts = await until(() => {
    const got = c.delivered.filter((p) => ids.includes(String(p.receipted_message_id)));
    return got.length === 3 ? got : undefined;
  });
  assert.deepEqual(receipts.map((p) => p.receipted_message_id).sort(), [...ids].sort());
  c.s.destroy();
});

test('configured outcomes: UNDELIV receipts; throttling and a bad destination answer their statuses', async () => {
  const c = await bound();
  sim.smsc.setReceipts(SYSTEM_ID, { stat: 'UNDELIV', err: '034' });
  const r = await request(c.s, 'submit_sm', { ...numbers, registered_delivery: 1, short_message: 'Hello' });
  const receipt = await until(() => c.delivered.find((p) => p.receipted_message_id === r.message_id));
  assert.match((receipt.short_message as { message: string }).message, / dlvrd:000 .* stat:UNDELIV err:034 /);
  assert.equal(receipt.message_state, 5);
  // A rule per part: the second part of a concatenated message fails.
  sim.smsc.setReceipts(SYSTEM_ID, (part) =>
    part.concat?.seq === 2 ? { stat: 'EXPIRED', err: '027' } : { stat: 'DELIVRD' },
  );
  const ids: string[] = [];
  for (const seq of [1, 2]) {
    const sm = Buffer.concat([Buffer.from([0x05, 0x00, 0x03, 0x07, 2, seq]), Buffer.from(`part ${seq}`, 'ascii')]);
    const resp = await request(c.s, 'submit_sm', {
      ...numbers,
      esm_class: 0x40,
      registered_delivery: 1,
      short_message: sm,
    });
    ids.push(String(resp.message_id));
  }
  const stats = await until(() => {
    const got = ids.map((id) => c.delivered.find((p) => p.receipted_message_id === id));
    if (got.some((g) => !g)) return undefined;
    return got.map((g) => /stat:(\w+)/.exec((g!.short_message as { message: string }).message)?.[1]);
  });
  assert.deepEqual(stats, ['DELIVRD', 'EXPIRED']);
  sim.smsc.setReceipts(SYSTEM_ID, { stat: 'DELIVRD' });

  sim.smsc.failNext({ command_status: 0x58 });
  const throttled = await request(c.s, 'submit_sm', { ...numbers, short_message: 'Hello' });
  assert.equal(throttled.command_status, 0x58);
  assert.equal(throttled.message_id, undefined);
  const bad = await request(c.s, 'submit_sm', { ...numbers, destination_addr: 'abc', short_message: 'Hello' });
  assert.equal(bad.command_status, 0x0b);
  const alpha = await request(c.s, 'submit_sm', {
    ...numbers,
    source_addr_ton: 5,
    source_addr_npi: 0,
    source_addr: 'SMS',
    short_message: 'Hello',
  });
  assert.equal(alpha.command_status, 0);
  c.s.destroy();
});

test('MO messages arrive as deliver_sm: UCS-2 for Polish text, UDH-concatenated when long', async () => {
  const c = await bound();
  const statuses = await sim.smsc.sendMo(SYSTEM_ID, { from: '48601234567', to: '48500100200', text: 'Dzień dobry' });
  assert.deepEqual(statuses, [0]);
  const short = c.delivered[c.delivered.length - 1]!;
  assert.equal(short.esm_class, 0);
  assert.equal(short.data_coding, 8);
  assert.equal((short.short_message as { message: string }).message, 'Dzień dobry');
  assert.equal(short.source_addr, '48601234567');

  const long = 'Proszę o kontakt w sprawie zamówienia, które złożyłam wczoraj wieczorem przez stronę — pilne!';
  const parts = await sim.smsc.sendMo(SYSTEM_ID, { from: '48601234567', to: '48500100200', text: long });
  assert.deepEqual(parts, [0, 0]);
  const [p1, p2] = c.delivered.slice(-2) as [Pdu, Pdu];
  assert.equal(p1.esm_class, 0x40);
  const m1 = p1.short_message as { udh: Buffer[]; message: string };
  const m2 = p2.short_message as { udh: Buffer[]; message: string };
  assert.equal(m1.udh[0]![0], 0x00);
  assert.equal(m1.udh[0]![3], 2);
  assert.equal(m1.message + m2.message, long);
  const gsm = await sim.smsc.sendMo(SYSTEM_ID, { from: '48601234567', to: '48500100200', text: 'Cena 10 EUR {ok}' });
  assert.deepEqual(gsm, [0]);
  assert.equal(c.delivered[c.delivered.length - 1]!.data_coding, 0);
  c.s.destroy();
});

test('enquire_link both ways; unbind closes the session', async () => {
  const c = await bound();
  assert.equal((await request(c.s, 'enquire_link')).command_status, 0);
  assert.deepEqual(await sim.smsc.enquireLink(SYSTEM_ID), [0]);
  assert.equal((await request(c.s, 'unbind')).command_status, 0);
  await c.closed;
});

test('the SMSC sends enquire_link on its own timer', async () => {
  const other = await startSimulator({ smsc: { enquireLinkIntervalMs: 20, responseTimeoutMs: 500 } });
  try {
    other.smsc.addAccount({ systemId: SYSTEM_ID, password: PASSWORD });
    const s = smpp.connect({ url: `smpp://${other.smpp.host}:${other.smpp.port}` });
    open.push(s);
    s.on('error', () => {});
    let seen = 0;
    s.on('enquire_link', (pdu: Pdu) => {
      seen++;
      s.send(pdu.response());
    });
    await new Promise<void>((resolve) => s.on('connect', () => resolve()));
    await request(s, 'bind_transceiver', { system_id: SYSTEM_ID, password: PASSWORD });
    await until(() => (seen >= 2 ? true : undefined));
    s.destroy();
  } finally {
    await other.close();
  }
});

test('a dropped connection: unanswered and queued deliver_sm arrive after the ESME binds again', async () => {
  const c = await connect(false);
  await request(c.s, 'bind_transceiver', { system_id: SYSTEM_ID, password: PASSWORD });
  const mo = sim.smsc.sendMo(SYSTEM_ID, { from: '48609999999', to: '48500100200', text: 'nie zgub mnie' });
  await until(() => (c.delivered.length === 1 ? true : undefined));
  sim.smsc.dropConnections(SYSTEM_ID);
  await c.closed;
  const queued = sim.smsc.sendMo(SYSTEM_ID, { from: '48609999999', to: '48500100200', text: 'i mnie' });
  const again = await bound();
  assert.deepEqual(await mo, [0]);
  assert.deepEqual(await queued, [0]);
  const texts = again.delivered.map((p) => (p.short_message as { message: string }).message);
  assert.deepEqual(texts, ['nie zgub mnie', 'i mnie']);
  again.s.destroy();
});

test('a PDU with a bad command_length gets generic_nack ESME_RINVCMDLEN and the connection is closed', async () => {
  const sock = net.connect(sim.smpp.port, sim.smpp.host);
  const chunks: Buffer[] = [];
  sock.on('data', (d) => chunks.push(d));
  const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
  await new Promise<void>((resolve) => sock.on('connect', () => resolve()));
  const pdu = Buffer.alloc(16);
  pdu.writeUInt32BE(8, 0); // shorter than the header itself
  pdu.writeUInt32BE(0x15, 4);
  pdu.writeUInt32BE(7, 12);
  sock.write(pdu);
  await closed;
  const nack = Buffer.concat(chunks);
  assert.equal(nack.readUInt32BE(4), 0x80000000);
  assert.equal(nack.readUInt32BE(8), 0x02);
  assert.equal(nack.readUInt32BE(12), 7);
});
