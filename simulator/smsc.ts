// A fake SMSC speaking SMPP v3.4 (Issue 1.2) over TCP on 127.0.0.1. Sections followed:
//   §4.1  bind_transmitter / bind_receiver / bind_transceiver and their _resp (ESME_RINVSYSID,
//         ESME_RINVPASWD, ESME_RALYBND), sc_interface_version TLV 0x34 in the response;
//   §4.2  unbind / unbind_resp; §4.3 generic_nack (ESME_RINVCMDLEN, ESME_RINVCMDID);
//   §4.4  submit_sm / submit_sm_resp with message_id (no body when command_status ≠ 0);
//   §4.6  deliver_sm for mobile-originated messages and for delivery receipts (esm_class 0x04,
//         §5.2.12), answered by deliver_sm_resp;
//   §4.11 enquire_link, sent by either side;
//   §5.2.17 registered_delivery bits 0–1 (01: receipt on success or failure, 10: on failure);
//   Appendix B: the receipt text "id:… sub:… dlvrd:… submit date:YYMMDDhhmm done date:YYMMDDhhmm
//         stat:DELIVRD err:… text:…", with receipted_message_id (0x001E) and message_state
//         (0x0427) TLVs (§5.3.2.12, §5.3.2.35).
// The `smpp` package codes the PDUs; framing is done here so that the exact bytes can be kept.
import net from 'node:net';
import type { Runtime } from './runtime.js';
import {
  type Concat,
  concatUdh,
  DATA_CODING,
  decodeText,
  ESM_CLASS_RECEIPT,
  ESM_CLASS_UDHI,
  ESME,
  encodePdu,
  encodeText,
  HEADER_LENGTH,
  isGsm,
  MAX_PDU_LENGTH,
  type Pdu,
  rawFields,
  segment,
  smpp,
  splitUdh,
} from './smpp-pdu.js';

export type ReceiptStat = 'DELIVRD' | 'EXPIRED' | 'DELETED' | 'UNDELIV' | 'ACCEPTD' | 'UNKNOWN' | 'REJECTD';

// message_state values, §5.2.28.
const MESSAGE_STATE: Record<ReceiptStat, number> = {
  DELIVRD: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIV: 5,
  ACCEPTD: 6,
  UNKNOWN: 7,
  REJECTD: 8,
};

export interface ReceiptOutcome {
  stat: ReceiptStat;
  /** network error code for the err: field, three digits; "000" when delivered */
  err?: string;
  /** how long after submit_sm the receipt is sent */
  delayMs?: number;
}

/** A fixed outcome for every submit_sm, or a rule per submitted part (null: no receipt). */
export type ReceiptPolicy = ReceiptOutcome | ((part: SubmitRecord) => ReceiptOutcome | null);

export interface Address {
  ton: number;
  npi: number;
  addr: string;
}

/** One submit_sm as received, decoded from the wire bytes. */
export interface SubmitRecord {
  systemId: string;
  messageId: string | null;
  commandStatus: number;
  sequenceNumber: number;
  serviceType: string;
  source: Address;
  destination: Address;
  esmClass: number;
  protocolId: number;
  priorityFlag: number;
  registeredDelivery: number;
  dataCoding: number;
  /** the complete short_message octets, UDH included */
  shortMessage: Buffer;
  udh: Buffer | null;
  concat: Concat | null;
  /** the part's text without UDH (from message_payload when short_message is empty) */
  payload: Buffer;
  text: string;
  tlvs: Map<number, Buffer>;
  at: number;
}

/** A logical message: the parts of one concatenated SMS put back together. */
export interface SmsMessage {
  systemId: string;
  from: Address;
  to: Address;
  dataCoding: number;
  text: string;
  parts: SubmitRecord[];
  complete: boolean;
}

/** One deliver_sm the SMSC sent and what the ESME answered. */
export interface DeliverRecord {
  kind: 'mo' | 'receipt';
  systemId: string;
  sequenceNumber: number;
  source: Address;
  destination: Address;
  esmClass: number;
  dataCoding: number;
  shortMessage: Buffer;
  text: string;
  receiptedMessageId?: string;
  /** the deliver_sm_resp status, null until answered */
  responseStatus: number | null;
}

export interface MoInput {
  from: string;
  to: string;
  text: string;
  /** data_coding: chosen like a handset when omitted (0 if all GSM 03.38, else 8) */
  dataCoding?: number;
  fromTon?: number;
  fromNpi?: number;
  toTon?: number;
  toNpi?: number;
}

export interface SmppFault {
  command_status: number;
}

interface Account {
  systemId: string;
  password: string;
  receipts: ReceiptPolicy;
  /** deliver_sm waiting for a bound receiver / transceiver */
  queue: Outgoing[];
  submits: SubmitRecord[];
  delivers: DeliverRecord[];
}

interface Outgoing {
  record: DeliverRecord;
  options: Record<string, unknown>;
  done: (status: number) => void;
}

type Mode = 'transmitter' | 'receiver' | 'transceiver';

class Session {
  buf = Buffer.alloc(0);
  bound: { systemId: string; mode: Mode } | null = null;
  seq = 0;
  readonly waiting = new Map<
    number,
    { resolve: (pdu: Pdu) => void; reject: (e: Error) => void; outgoing?: Outgoing }
  >();
  stopEnquire: () => void = () => {};

  constructor(readonly socket: net.Socket) {}

  canReceive(): boolean {
    return this.bound !== null && this.bound.mode !== 'transmitter';
  }

  canTransmit(): boolean {
    return this.bound !== null && this.bound.mode !== 'receiver';
  }
}

export interface SmscOptions {
  /** the SMSC sends enquire_link this often on every bound session; 0 turns it off */
  enquireLinkIntervalMs: number;
  /** unanswered requests from the SMSC (enquire_link, deliver_sm) time out after this */
  responseTimeoutMs: number;
  /** system_id the SMSC names itself in bind responses */
  systemId: string;
}

export class Smsc {
  readonly #server: net.Server;
  readonly #accounts = new Map<string, Account>();
  readonly #sessions = new Set<Session>();
  readonly #faults: { fault: SmppFault; left: number; command: string }[] = [];
  readonly #bindWaiters: { systemId: string; resolve: () => void }[] = [];
  #latencyMs = 0;
  #nextMessageId = 1_000_000_001;
  #nextRef = 1;

  constructor(
    private readonly rt: Runtime,
    private readonly opts: SmscOptions,
  ) {
    this.#server = net.createServer((socket) => this.#accept(socket));
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        const a = this.#server.address() as net.AddressInfo;
        resolve({ host, port: a.port });
      });
    });
  }

  close(): Promise<void> {
    for (const s of this.#sessions) {
      s.stopEnquire();
      s.socket.destroy();
    }
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** An ESME account (system_id / password as in bind). Receipts default to DELIVRD at once. */
  addAccount(opts: { systemId: string; password: string; receipts?: ReceiptPolicy }): void {
    this.#accounts.set(opts.systemId, {
      systemId: opts.systemId,
      password: opts.password,
      receipts: opts.receipts ?? { stat: 'DELIVRD', err: '000', delayMs: 0 },
      queue: [],
      submits: [],
      delivers: [],
    });
  }

  setReceipts(systemId: string, policy: ReceiptPolicy): void {
    this.#account(systemId).receipts = policy;
  }

  /**
   * A phone sends an SMS to one of the ESME's numbers: one deliver_sm per part (UDH-concatenated
   * when long). Resolves with each part's deliver_sm_resp status once the ESME has answered; if no
   * session is bound the parts wait, like in a real SMSC's store-and-forward queue.
   */
  sendMo(systemId: string, mo: MoInput): Promise<number[]> {
    const acc = this.#account(systemId);
    const dataCoding = mo.dataCoding ?? (isGsm(mo.text) ? DATA_CODING.GSM : DATA_CODING.UCS2);
    const parts = segment(encodeText(mo.text, dataCoding), dataCoding);
    const ref = this.#nextRef++ & 0xff;
    const source = { ton: mo.fromTon ?? 1, npi: mo.fromNpi ?? 1, addr: mo.from };
    const destination = { ton: mo.toTon ?? 1, npi: mo.toNpi ?? 1, addr: mo.to };
    return Promise.all(
      parts.map((payload, i) => {
        const sm = parts.length > 1 ? Buffer.concat([concatUdh(ref, parts.length, i + 1), payload]) : payload;
        const esmClass = parts.length > 1 ? ESM_CLASS_UDHI : 0;
        return this.#deliver(acc, 'mo', source, destination, esmClass, dataCoding, sm, decodeText(payload, dataCoding));
      }),
    );
  }

  /** submit_sm PDUs received, in order (all accounts unless systemId is given). */
  submits(systemId?: string): SubmitRecord[] {
    return this.#all(systemId).flatMap((a) => a.submits);
  }

  /** Submitted messages with concatenated parts reassembled. */
  messages(systemId?: string): SmsMessage[] {
    const out: SmsMessage[] = [];
    const groups = new Map<string, SmsMessage>();
    for (const part of this.submits(systemId)) {
      if (part.commandStatus !== ESME.ROK) continue;
      if (!part.concat) {
        out.push({
          systemId: part.systemId,
          from: part.source,
          to: part.destination,
          dataCoding: part.dataCoding,
          text: part.text,
          parts: [part],
          complete: true,
        });
        continue;
      }
      const key = [part.systemId, part.source.addr, part.destination.addr, part.concat.ref, part.concat.total].join(
        '|',
      );
      let msg = groups.get(key);
      if (!msg || msg.complete) {
        msg = {
          systemId: part.systemId,
          from: part.source,
          to: part.destination,
          dataCoding: part.dataCoding,
          text: '',
          parts: [],
          complete: false,
        };
        groups.set(key, msg);
        out.push(msg);
      }
      msg.parts.push(part);
      msg.parts.sort((a, b) => a.concat!.seq - b.concat!.seq);
      msg.complete = msg.parts.length === part.concat.total;
      msg.text = decodeText(Buffer.concat(msg.parts.map((p) => p.payload)), msg.dataCoding);
    }
    return out;
  }

  /** deliver_sm PDUs the SMSC sent (MO and receipts) with the ESME's answers. */
  delivers(systemId?: string): DeliverRecord[] {
    return this.#all(systemId).flatMap((a) => a.delivers);
  }

  sessions(): { systemId: string | null; mode: Mode | null; remotePort: number | undefined }[] {
    return [...this.#sessions].map((s) => ({
      systemId: s.bound?.systemId ?? null,
      mode: s.bound?.mode ?? null,
      remotePort: s.socket.remotePort,
    }));
  }

  /** Resolves when a session of systemId is bound (at once if one already is). */
  waitForBind(systemId: string): Promise<void> {
    if ([...this.#sessions].some((s) => s.bound?.systemId === systemId)) return Promise.resolve();
    return new Promise((resolve) => this.#bindWaiters.push({ systemId, resolve }));
  }

  /** SMSC-initiated enquire_link on every bound session of systemId; resolves with the resp statuses. */
  enquireLink(systemId?: string): Promise<number[]> {
    const sessions = this.#bound(systemId);
    return Promise.all(sessions.map((s) => this.#request(s, 'enquire_link', {}).then((r) => r.command_status)));
  }

  /** SMSC-initiated unbind; the connection is closed once the ESME answers unbind_resp (or times out). */
  async unbind(systemId?: string): Promise<void> {
    await Promise.all(
      this.#bound(systemId).map(async (s) => {
        await this.#request(s, 'unbind', {}).catch(() => {});
        s.socket.end();
      }),
    );
  }

  /** Cuts the TCP connections abruptly (no unbind), to test the ESME's reconnect. */
  dropConnections(systemId?: string): void {
    for (const s of this.#sessions) {
      if (!systemId || s.bound?.systemId === systemId) s.socket.destroy();
    }
  }

  /** The next `times` PDUs of `command` (submit_sm by default) are answered with command_status. */
  failNext(fault: SmppFault, opts: { times?: number; command?: string } = {}): void {
    this.#faults.push({ fault, left: opts.times ?? 1, command: opts.command ?? 'submit_sm' });
  }

  setLatency(ms: number): void {
    this.#latencyMs = Math.max(0, ms);
  }

  clearFaults(): void {
    this.#faults.length = 0;
    this.#latencyMs = 0;
  }

  #accept(socket: net.Socket): void {
    const s = new Session(socket);
    this.#sessions.add(s);
    socket.on('data', (chunk: Buffer) => this.#onData(s, chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.#onClose(s));
  }

  #onClose(s: Session): void {
    s.stopEnquire();
    this.#sessions.delete(s);
    // deliver_sm not yet acknowledged goes back to the queue: the SMSC retries on the next bind.
    const waiting = [...s.waiting.values()];
    s.waiting.clear();
    for (const w of waiting) {
      if (w.outgoing) this.#accounts.get(w.outgoing.record.systemId)?.queue.push(w.outgoing);
      w.reject(new Error('connection closed'));
    }
  }

  #onData(s: Session, chunk: Buffer): void {
    s.buf = Buffer.concat([s.buf, chunk]);
    while (s.buf.length >= 4) {
      const len = s.buf.readUInt32BE(0);
      if (len < HEADER_LENGTH || len > MAX_PDU_LENGTH) {
        // The stream cannot be resynchronised after a bad command_length: nack and hang up.
        const seq = s.buf.length >= HEADER_LENGTH ? s.buf.readUInt32BE(12) : 0;
        s.socket.end(encodePdu('generic_nack', { command_status: ESME.RINVCMDLEN, sequence_number: seq }));
        s.buf = Buffer.alloc(0);
        return;
      }
      if (s.buf.length < len) return;
      const raw = Buffer.from(s.buf.subarray(0, len));
      s.buf = s.buf.subarray(len);
      void this.#onPdu(s, raw).catch(() => {});
    }
  }

  async #onPdu(s: Session, raw: Buffer): Promise<void> {
    let pdu: Pdu;
    try {
      const decoded = smpp.PDU.fromBuffer(raw);
      if (!decoded) throw new Error('short PDU');
      pdu = decoded;
    } catch {
      this.#write(
        s,
        encodePdu('generic_nack', { command_status: ESME.RINVCMDLEN, sequence_number: raw.readUInt32BE(12) }),
      );
      return;
    }
    if (pdu.isResponse()) {
      const w = s.waiting.get(pdu.sequence_number);
      if (w) {
        s.waiting.delete(pdu.sequence_number);
        w.resolve(pdu);
      }
      return;
    }
    if (this.#latencyMs) await this.rt.sleep(this.#latencyMs);
    const fault = this.#takeFault(pdu.command);
    if (fault) return this.#respond(s, pdu, { command_status: fault.command_status });
    switch (pdu.command) {
      case 'bind_transmitter':
      case 'bind_receiver':
      case 'bind_transceiver':
        return this.#bind(s, pdu);
      case 'enquire_link':
        return this.#respond(s, pdu, {});
      case 'unbind':
        this.#respond(s, pdu, {});
        s.socket.end();
        return;
      case 'submit_sm':
        return this.#submit(s, pdu, raw);
      case 'unknown':
        return this.#write(
          s,
          encodePdu('generic_nack', { command_status: ESME.RINVCMDID, sequence_number: pdu.sequence_number }),
        );
      default:
        // Known SMPP operations this SMSC does not offer (query_sm, data_sm, submit_multi, ...).
        return this.#respond(s, pdu, { command_status: ESME.RINVCMDID });
    }
  }

  #bind(s: Session, pdu: Pdu): void {
    if (s.bound) {
      this.#respond(s, pdu, { command_status: ESME.RALYBND });
      return;
    }
    const acc = this.#accounts.get(String(pdu.system_id));
    if (!acc) {
      this.#respond(s, pdu, { command_status: ESME.RINVSYSID });
      return;
    }
    if (acc.password !== String(pdu.password)) {
      this.#respond(s, pdu, { command_status: ESME.RINVPASWD });
      return;
    }
    const mode = pdu.command.slice('bind_'.length) as Mode;
    s.bound = { systemId: acc.systemId, mode };
    this.#respond(s, pdu, { system_id: this.opts.systemId, sc_interface_version: 0x34 });
    if (this.opts.enquireLinkIntervalMs > 0) {
      s.stopEnquire = this.rt.every(this.opts.enquireLinkIntervalMs, () => {
        this.#request(s, 'enquire_link', {}).catch(() => s.socket.destroy());
      });
    }
    for (let i = this.#bindWaiters.length - 1; i >= 0; i--) {
      const w = this.#bindWaiters[i]!;
      if (w.systemId === acc.systemId) {
        this.#bindWaiters.splice(i, 1);
        w.resolve();
      }
    }
    if (s.canReceive()) this.#flush(acc);
  }

  #submit(s: Session, pdu: Pdu, raw: Buffer): void {
    if (!s.canTransmit()) {
      this.#respond(s, pdu, { command_status: ESME.RINVBNDSTS });
      return;
    }
    const acc = this.#account(s.bound!.systemId);
    const record = this.#decodeSubmit(acc.systemId, pdu, raw);
    record.commandStatus = validateAddresses(record);
    if (record.commandStatus === ESME.ROK) record.messageId = String(this.#nextMessageId++);
    acc.submits.push(record);
    if (record.commandStatus !== ESME.ROK) {
      this.#respond(s, pdu, { command_status: record.commandStatus });
      return;
    }
    this.#respond(s, pdu, { message_id: record.messageId });
    this.#scheduleReceipt(acc, record);
  }

  #decodeSubmit(systemId: string, pdu: Pdu, raw: Buffer): SubmitRecord {
    const { fields, tlvs } = rawFields(raw, 'submit_sm');
    const esmClass = Number(fields.esm_class ?? 0);
    const dataCoding = Number(fields.data_coding ?? 0);
    const shortMessage = Buffer.from((fields.short_message as Buffer | undefined) ?? Buffer.alloc(0));
    let udh: Buffer | null = null;
    let concat: Concat | null = null;
    let payload: Buffer = shortMessage;
    if (esmClass & ESM_CLASS_UDHI && shortMessage.length > 0) {
      ({ udh, concat, payload } = splitUdh(shortMessage));
    }
    const messagePayload = tlvs.get(0x0424);
    if (shortMessage.length === 0 && messagePayload) payload = messagePayload;
    // SAR TLVs (§5.3.2.22–24) are the other way to mark concatenation.
    const sarRef = tlvs.get(0x020c);
    const sarTotal = tlvs.get(0x020e);
    const sarSeq = tlvs.get(0x020f);
    if (!concat && sarRef && sarTotal && sarSeq) {
      concat = { ref: sarRef.readUInt16BE(0), total: sarTotal[0]!, seq: sarSeq[0]! };
    }
    return {
      systemId,
      messageId: null,
      commandStatus: ESME.ROK,
      sequenceNumber: pdu.sequence_number,
      serviceType: String(fields.service_type ?? ''),
      source: {
        ton: Number(fields.source_addr_ton),
        npi: Number(fields.source_addr_npi),
        addr: String(fields.source_addr ?? ''),
      },
      destination: {
        ton: Number(fields.dest_addr_ton),
        npi: Number(fields.dest_addr_npi),
        addr: String(fields.destination_addr ?? ''),
      },
      esmClass,
      protocolId: Number(fields.protocol_id ?? 0),
      priorityFlag: Number(fields.priority_flag ?? 0),
      registeredDelivery: Number(fields.registered_delivery ?? 0),
      dataCoding,
      shortMessage,
      udh,
      concat,
      payload: Buffer.from(payload),
      text: decodeText(payload, dataCoding),
      tlvs,
      at: this.rt.now(),
    };
  }

  #scheduleReceipt(acc: Account, part: SubmitRecord): void {
    const wanted = part.registeredDelivery & 0x03;
    if (wanted === 0) return;
    const outcome = typeof acc.receipts === 'function' ? acc.receipts(part) : acc.receipts;
    if (!outcome) return;
    if (wanted === 0x02 && outcome.stat === 'DELIVRD') return;
    this.rt.after(outcome.delayMs ?? 0, () => {
      const text = receiptText(part, outcome, this.rt.now());
      void this.#deliver(
        acc,
        'receipt',
        part.destination,
        part.source,
        ESM_CLASS_RECEIPT,
        DATA_CODING.GSM,
        Buffer.from(text, 'ascii'),
        text,
        {
          receipted_message_id: part.messageId,
          message_state: MESSAGE_STATE[outcome.stat],
        },
      ).catch(() => {});
    });
  }

  #deliver(
    acc: Account,
    kind: 'mo' | 'receipt',
    source: Address,
    destination: Address,
    esmClass: number,
    dataCoding: number,
    shortMessage: Buffer,
    text: string,
    tlvs: Record<string, unknown> = {},
  ): Promise<number> {
    const record: DeliverRecord = {
      kind,
      systemId: acc.systemId,
      sequenceNumber: 0,
      source,
      destination,
      esmClass,
      dataCoding,
      shortMessage,
      text,
      ...(typeof tlvs.receipted_message_id === 'string' ? { receiptedMessageId: tlvs.receipted_message_id } : {}),
      responseStatus: null,
    };
    acc.delivers.push(record);
    const options = {
      service_type: '',
      source_addr_ton: source.ton,
      source_addr_npi: source.npi,
      source_addr: source.addr,
      dest_addr_ton: destination.ton,
      dest_addr_npi: destination.npi,
      destination_addr: destination.addr,
      esm_class: esmClass,
      data_coding: dataCoding,
      short_message: shortMessage,
      ...tlvs,
    };
    return new Promise((resolve) => {
      acc.queue.push({ record, options, done: resolve });
      this.#flush(acc);
    });
  }

  /** Sends queued deliver_sm to a bound receiver / transceiver of the account, if there is one. */
  #flush(acc: Account): void {
    const s = [...this.#sessions].find((x) => x.bound?.systemId === acc.systemId && x.canReceive());
    if (!s) return;
    for (const out of acc.queue.splice(0)) {
      this.#request(s, 'deliver_sm', out.options, out)
        .then((resp) => {
          out.record.responseStatus = resp.command_status;
          out.done(resp.command_status);
        })
        .catch(() => {});
    }
  }

  #request(s: Session, command: string, options: Record<string, unknown>, outgoing?: Outgoing): Promise<Pdu> {
    s.seq = s.seq >= 0x7fffffff ? 1 : s.seq + 1;
    const seq = s.seq;
    if (outgoing) outgoing.record.sequenceNumber = seq;
    return new Promise((resolve, reject) => {
      let settled = false;
      s.waiting.set(seq, {
        outgoing,
        resolve: (pdu) => {
          settled = true;
          resolve(pdu);
        },
        reject: (e) => {
          settled = true;
          reject(e);
        },
      });
      this.rt.after(this.opts.responseTimeoutMs, () => {
        if (settled || !s.waiting.has(seq)) return;
        s.waiting.delete(seq);
        // An unanswered deliver_sm stays owed: queue it again for the next flush.
        if (outgoing) this.#accounts.get(outgoing.record.systemId)?.queue.push(outgoing);
        reject(new Error(`${command} ${seq}: no response`));
      });
      this.#write(s, encodePdu(command, { ...options, sequence_number: seq }));
    });
  }

  #respond(s: Session, pdu: Pdu, options: Record<string, unknown>): void {
    this.#write(s, pdu.response(options).toBuffer());
  }

  #write(s: Session, bytes: Buffer): void {
    if (!s.socket.destroyed && s.socket.writable) s.socket.write(bytes);
  }

  #takeFault(command: string): SmppFault | undefined {
    const i = this.#faults.findIndex((f) => f.command === command);
    if (i < 0) return undefined;
    const f = this.#faults[i]!;
    f.left -= 1;
    if (f.left <= 0) this.#faults.splice(i, 1);
    return f.fault;
  }

  #bound(systemId?: string): Session[] {
    return [...this.#sessions].filter((s) => s.bound && (!systemId || s.bound.systemId === systemId));
  }

  #all(systemId?: string): Account[] {
    return systemId ? [this.#account(systemId)] : [...this.#accounts.values()];
  }

  #account(systemId: string): Account {
    const acc = this.#accounts.get(systemId);
    if (!acc) throw new Error(`smsc: no account ${systemId}`);
    return acc;
  }
}

/**
 * Addresses an SMSC accepts: international / national numbers are digits (ESME_RINVDSTADR,
 * ESME_RINVSRCADR otherwise); an alphanumeric originator (TON 5) has at most 11 characters.
 */
function validateAddresses(r: SubmitRecord): number {
  if (!/^\+?\d{3,20}$/.test(r.destination.addr)) return ESME.RINVDSTADR;
  const src = r.source;
  if (src.ton === 5) return src.addr.length >= 1 && src.addr.length <= 11 ? ESME.ROK : ESME.RINVSRCADR;
  if (src.addr !== '' && !/^\+?\d{1,20}$/.test(src.addr)) return ESME.RINVSRCADR;
  return ESME.ROK;
}

/** SMPP v3.4 Appendix B receipt text; text: carries the first 20 characters of the part. */
export function receiptText(part: SubmitRecord, outcome: ReceiptOutcome, doneAt: number): string {
  const delivered = outcome.stat === 'DELIVRD' ? 1 : 0;
  // Only characters with the same code in ASCII and GSM 03.38, as receipts go out with data_coding 0.
  const first20 = part.text.slice(0, 20).replace(/[^ !"#%&'()*+,\-./0-9:;<=>?A-Za-z]/g, '.');
  return (
    `id:${part.messageId} sub:001 dlvrd:${String(delivered).padStart(3, '0')} ` +
    `submit date:${smppDate(part.at)} done date:${smppDate(doneAt)} ` +
    `stat:${outcome.stat} err:${outcome.err ?? (delivered ? '000' : '001')} text:${first20}`
  );
}

/** YYMMDDhhmm in UTC. */
function smppDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}
