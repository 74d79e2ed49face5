/**
 * An SMPP 3.4 ESME for one SMS channel (SPEC §4.1, §4.2, §7 "SMPP"): one bind_transceiver session
 * to the operator's SMSC that sends submit_sm and receives deliver_sm (client messages and delivery
 * receipts), kept alive with enquire_link and re-established after every loss.
 *
 * References are to "Short Message Peer to Peer Protocol Specification v3.4", Issue 1.2:
 * §4.1.5 bind_transceiver, §4.2 unbind, §3.2 PDU format (command_length, sequence_number),
 * §4.3 generic_nack, §4.4 submit_sm, §4.6 deliver_sm, §4.11 enquire_link, §4.12 alert_notification,
 * §5.1.3 command_status, §5.2.5 TON, §5.2.6 NPI, §5.2.12 esm_class, §5.2.17 registered_delivery,
 * §5.2.19 data_coding, §5.2.28 message_state, §5.3.2 TLVs, Appendix B delivery receipt format.
 *
 * ## The `smpp` package, and what is done here
 * The package codes the PDUs (`new PDU(command, fields).toBuffer()`, `PDU.fromBuffer`, its field
 * types for reading deliver_sm). Framing, the request/response table and the timers are ours: its
 * Session stops reading for good after one undecodable PDU, never fails the callbacks of requests
 * lost with a connection, and answers neither enquire_link nor deliver_sm. We frame by command_length (§3.2),
 * so one bad PDU body costs a generic_nack, not the session; only a command_length that cannot be
 * true (below the 16-octet header or above 16 KiB, the package's limit) loses the framing, and then
 * the connection is dropped and re-established.
 *
 * ## Sending
 * Text goes through core/sms.ts `encodeSms` (GSM 03.38 or UCS-2, `data_coding` always explicit,
 * 8-bit-reference UDH and esm_class UDHI for long texts); each part is one submit_sm. At most
 * `windowSize` (default 10) submit_sm are outstanding; the rest wait in a FIFO queue. ESME_RTHROTTLED
 * and ESME_RMSGQFUL pause the whole window and retry that part after a doubling delay (3 retries by
 * default), then fail transiently. A part that has no submit_sm_resp when the link drops, or within
 * `responseTimeoutMs`, fails the whole message transiently and is never re-sent by the client: the
 * outbox worker owns retries (such a retry may duplicate parts the SMSC did accept — the price of
 * not losing a message). When one part fails, the parts of that message not yet sent are dropped.
 *
 * ## Receiving (deliver_sm, §4.6)
 * - The deliver_sm_resp goes out only after the handler's promise resolved, i.e. after the event is
 *   stored; a handler that throws is answered ESME_RX_T_APPN (0x64, temporary application error), so
 *   the SMSC delivers again. What we can never read (a malformed UDH, a non-text data_coding, invalid
 *   UCS-2: an odd octet count or a lone surrogate) is answered ESME_RX_P_APPN (0x65, permanent) and
 *   logged, and the SMSC stops trying.
 * - Delivery receipts (esm_class message type 0x04; also 0x20, intermediate notifications) carry
 *   the part's message_id in the receipted_message_id TLV (§5.3.2.12) or the Appendix B text
 *   `id:… stat:…`; the status comes from `stat:` or the message_state TLV (§5.2.28). DELIVRD →
 *   delivered; UNDELIV, EXPIRED, REJECTD, DELETED, UNKNOWN → failed with the stat as the reason;
 *   ACCEPTD and ENROUTE are acknowledged and ignored.
 * - Concatenated client messages (UDH IEI 0x00 / 0x08, or the sar_* TLVs §5.3.2.22–24) are put back
 *   together by (source, destination, reference, total). **Trade-off:** every part but the one that
 *   completes the message is acknowledged as soon as it is buffered in memory. Holding those acks
 *   would stall SMSCs that deliver with a window of one (part 2 never comes while part 1 waits), and
 *   SMSCs give up on unanswered PDUs after a timeout anyway. The cost: if the process dies while a
 *   message is half received, its buffered parts are lost (the completing part is not acknowledged,
 *   so the SMSC redelivers it, but alone). A message whose parts stop coming is handed on after
 *   `concatTimeoutMs` with the missing parts shown as "[…]", rather than silently dropped.
 *   UCS-2 parts are joined before decoding, so a surrogate pair split across parts survives.
 * - Source addresses become E.164 (libphonenumber-js): TON 1 as international; TON 2 (national)
 *   in the country of the receiving number; TON 0 tried as national there, then as international.
 *   An alphanumeric sender (TON 5) keeps its text as its identity. The destination says which of
 *   our numbers received the message.
 *
 * ## The id of a client message (platformMessageId)
 * SMPP 3.4 gives an MO no id: the simulator, like most SMSCs, sends no message_id TLV and leaves
 * schedule_delivery_time / validity_period NULL (§4.6.1), so nothing in the PDU tells a redelivery
 * from the same text sent again. The id is `<digest>.<first seen, base 36 ms>` where the digest is
 * SHA-256 over source, destination, data_coding, the concatenation key and the exact payload octets.
 * A deliver_sm is a *redelivery* — and gets the earlier id, which the store then drops as a
 * duplicate — when an identical one (same digest) was received earlier and its acknowledgement may
 * not have reached the SMSC: not yet sent, answered with an error, or sent on a connection from
 * which no later response proved that the SMSC read past it (responses arrive in order on one TCP
 * stream; after acknowledging a client message we send an enquire_link within
 * `ackConfirmDelayMs` to learn exactly that). An identical text sent again once the first was
 * confirmed is a new message. What is left: a process killed between storing a message and its ack
 * reaching the SMSC stores the redelivered copy a second time.
 */

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import tls from 'node:tls';
import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { ValidationError } from '../../core/errors.js';
import type { InboundMessageEvent, InboundReceiptEvent } from '../../core/inbound.js';
import { type ConcatInfo, decodeSms, ESM_CLASS_UDHI, encodeSms, parseUdh, SmsDecodeError } from '../../core/sms.js';
import type { SmppCredentials } from '../../services/channels.js';
import type { Logger } from '../../services/context.js';
import { SendError } from '../outbound.js';

// ---------------------------------------------------------------------------------------------
// The `smpp` package, typed locally (it ships no types).

interface Pdu {
  command: string;
  command_id: number;
  command_status: number;
  sequence_number: number;
  [field: string]: unknown;
  toBuffer(): Buffer;
}
interface FieldType {
  read(buffer: Buffer, offset: number): unknown;
  size(value: unknown): number;
}
interface SmppModule {
  PDU: { new (command: string, options?: Record<string, unknown>): Pdu; fromBuffer(b: Buffer): Pdu | false };
  commands: Record<string, { id: number; params?: Record<string, { type: FieldType }> }>;
  commandsById: Record<number, { command: string } | undefined>;
  errors: Record<string, number>;
}
const smpp = createRequire(import.meta.url)('smpp') as SmppModule;

// ---------------------------------------------------------------------------------------------
// Protocol constants

/** command_status values used here (§5.1.3). */
export const ESME = {
  ROK: 0x00,
  RINVMSGLEN: 0x01,
  RINVCMDLEN: 0x02,
  RINVCMDID: 0x03,
  RINVBNDSTS: 0x04,
  RALYBND: 0x05,
  RSYSERR: 0x08,
  RINVSRCADR: 0x0a,
  RINVDSTADR: 0x0b,
  RBINDFAIL: 0x0d,
  RINVPASWD: 0x0e,
  RINVSYSID: 0x0f,
  RMSGQFUL: 0x14,
  RSUBMITFAIL: 0x45,
  RTHROTTLED: 0x58,
  RX_T_APPN: 0x64,
  RX_P_APPN: 0x65,
} as const;

const GENERIC_NACK = 0x80000000;
const RESPONSE_BIT = 0x80000000;
const HEADER_LENGTH = 16;
/** The largest PDU accepted (the `smpp` package's own limit, PDU.maxLength). */
const MAX_PDU_LENGTH = 16384;
const TLV = {
  receipted_message_id: 0x001e,
  sar_msg_ref_num: 0x020c,
  sar_total_segments: 0x020e,
  sar_segment_seqnum: 0x020f,
  message_payload: 0x0424,
  message_state: 0x0427,
} as const;

/** §5.2.12 esm_class bits 5–2 of a deliver_sm: the message type. */
const ESM_TYPE_MASK = 0x3c;
const ESM_TYPE_RECEIPT = 0x04;
const ESM_TYPE_INTERMEDIATE = 0x20;

/** §5.2.28 message_state → the Appendix B stat word. */
const MESSAGE_STATE_STAT: Record<number, string> = {
  1: 'ENROUTE',
  2: 'DELIVRD',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIV',
  6: 'ACCEPTD',
  7: 'UNKNOWN',
  8: 'REJECTD',
};
const RECEIPT_STATUS: Record<string, 'delivered' | 'failed' | null> = {
  DELIVRD: 'delivered',
  UNDELIV: 'failed',
  EXPIRED: 'failed',
  REJECTD: 'failed',
  DELETED: 'failed',
  UNKNOWN: 'failed',
  ACCEPTD: null,
  ENROUTE: null,
};

/** submit_sm answers meaning "slow down": retried by the client. */
const THROTTLING = new Set<number>([ESME.RTHROTTLED, ESME.RMSGQFUL]);
/** submit_sm answers that will not change on a retry (§5.1.3). Everything else counts as transient. */
const PERMANENT = new Map<number, string>([
  [0x01, 'rejected'], // ESME_RINVMSGLEN
  [0x02, 'rejected'], // ESME_RINVCMDLEN
  [0x03, 'rejected'], // ESME_RINVCMDID
  [0x0a, 'invalid_sender'], // ESME_RINVSRCADR
  [0x0b, 'invalid_number'], // ESME_RINVDSTADR
  [0x33, 'invalid_number'], // ESME_RINVNUMDESTS
  [0x42, 'rejected'], // ESME_RINVPRTFLG
  [0x43, 'rejected'], // ESME_RINVESMCLASS
  [0x48, 'invalid_sender'], // ESME_RINVSRCTON
  [0x49, 'invalid_sender'], // ESME_RINVSRCNPI
  [0x50, 'invalid_number'], // ESME_RINVDSTTON
  [0x51, 'invalid_number'], // ESME_RINVDSTNPI
  [0x53, 'rejected'], // ESME_RINVSYSTYP
  [0x61, 'rejected'], // ESME_RINVSCHED
  [0x62, 'rejected'], // ESME_RINVEXPIRY
  [0x65, 'rejected'], // ESME_RX_P_APPN
  [0x66, 'rejected'], // ESME_RX_R_APPN
  [0xc0, 'rejected'], // ESME_RINVOPTPARSTREAM
  [0xc1, 'rejected'], // ESME_ROPTPARNOTALLWD
  [0xc2, 'rejected'], // ESME_RINVPARLEN
  [0xc3, 'rejected'], // ESME_RMISSINGOPTPARAM
  [0xc4, 'rejected'], // ESME_RINVOPTPARAMVAL
]);

/** "ESME_RTHROTTLED 0x58" for logs and error messages. */
export function statusName(status: number): string {
  const name = Object.entries(smpp.errors).find(([, v]) => v === status)?.[0] ?? 'command_status';
  return `${name} 0x${status.toString(16).padStart(2, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Public types

export interface SmppAddress {
  ton: number;
  npi: number;
  addr: string;
}

export interface SmppMoMeta {
  /** The receiving number (ours) in E.164, or null when the destination is not a number. */
  to: string | null;
  source: SmppAddress;
  destination: SmppAddress;
  dataCoding: number;
  /** Parts the message arrived in. */
  parts: number;
  /** An SMSC redelivery of a message seen before (same platformMessageId). */
  redelivery: boolean;
}

export interface SmppReceiptMeta {
  /** The Appendix B stat word: DELIVRD, UNDELIV, ... */
  stat: string;
  /** The err: field, when present. */
  err: string | null;
  source: SmppAddress;
  destination: SmppAddress;
}

export interface SmppSubmitOptions {
  /** Our number in E.164, or null for the SMSC's default originator. */
  from: string | null;
  /** The number is outbound-only: the originator is the alphanumeric "SMS" (TON 5, NPI 0). */
  outboundOnly: boolean;
  /** The client's number in E.164. */
  to: string;
  text: string;
  /** registered_delivery 1 (a receipt on success or failure, §5.2.17); default true. */
  registeredDelivery?: boolean;
}

export interface SmppTiming {
  /** TCP (and TLS) connection set-up. */
  connectTimeoutMs: number;
  /** bind_transceiver_resp, submit_sm_resp, unbind_resp. */
  responseTimeoutMs: number;
  /** Our enquire_link period; default credentials.enquireLinkSeconds (30 s). */
  enquireLinkMs: number;
  /** An enquire_link unanswered this long means the link is dead (capped at the period). */
  enquireLinkTimeoutMs: number;
  /** Reconnect backoff: doubles from min to max, each delay drawn from its upper half (jitter). */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Retries of a throttled part (ESME_RTHROTTLED / ESME_RMSGQFUL) and the first delay (doubling). */
  throttleRetries: number;
  throttleDelayMs: number;
  /** How long the parts of a concatenated client message are waited for. */
  concatTimeoutMs: number;
  /** After acknowledging a client message, an enquire_link this soon confirms the ack arrived. */
  ackConfirmDelayMs: number;
  /** How long an unconfirmed client message is remembered to recognise its redelivery. */
  redeliveryWindowMs: number;
  /** close(): how long outstanding submit_sm may still be answered before unbind. */
  closeGraceMs: number;
}

const DEFAULT_TIMING: SmppTiming = {
  connectTimeoutMs: 10_000,
  responseTimeoutMs: 30_000,
  enquireLinkMs: 30_000,
  enquireLinkTimeoutMs: 10_000,
  reconnectMinMs: 1_000,
  reconnectMaxMs: 60_000,
  throttleRetries: 3,
  throttleDelayMs: 1_000,
  concatTimeoutMs: 10 * 60_000,
  ackConfirmDelayMs: 1_000,
  redeliveryWindowMs: 48 * 3600_000,
  closeGraceMs: 2_000,
};

export interface SmppClientOptions {
  credentials: SmppCredentials;
  /** Names the session in logs (e.g. "channel 12"). */
  name?: string;
  log?: Logger;
  clock?: () => number;
  /** A client message; the deliver_sm is acknowledged when the promise resolves. */
  onMo?: (ev: InboundMessageEvent, meta: SmppMoMeta) => Promise<void> | void;
  /** A delivery receipt of a part we sent; acknowledged when the promise resolves. */
  onReceipt?: (ev: InboundReceiptEvent, meta: SmppReceiptMeta) => Promise<void> | void;
  timing?: Partial<SmppTiming>;
}

/** The SMSC refused bind_transceiver (wrong system_id or password, ...). */
export class SmppBindError extends Error {
  readonly commandStatus: number;
  constructor(commandStatus: number, where: string) {
    super(`${where} refused bind_transceiver (${statusName(commandStatus)})`);
    this.name = 'SmppBindError';
    this.commandStatus = commandStatus;
  }
}

/** A submit that failed; `kind` and `reason` as the outbound port expects. */
export class SmppSubmitError extends SendError {
  readonly commandStatus: number | undefined;
  constructor(opts: {
    kind: 'transient' | 'permanent';
    reason: string;
    message: string;
    commandStatus?: number | undefined;
    retryAfterMs?: number | undefined;
  }) {
    super(opts);
    this.name = 'SmppSubmitError';
    this.commandStatus = opts.commandStatus;
  }
}

export type SmppClientState = 'idle' | 'connecting' | 'binding' | 'bound' | 'closed';

// ---------------------------------------------------------------------------------------------
// Internals

class LinkDown extends Error {
  constructor() {
    super('the SMPP connection was closed');
    this.name = 'LinkDown';
  }
}
class NoResponse extends Error {
  constructor(command: string, ms: number) {
    super(`no ${command}_resp within ${ms} ms`);
    this.name = 'NoResponse';
  }
}
/** A request PDU whose body does not fit its command_length. */
class PduFormatError extends Error {}

interface Response {
  commandId: number;
  status: number;
  pdu: Pdu | null;
}

interface Pending {
  command: string;
  resolve: (r: Response) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  writeNo: number;
}

/** A client message whose acknowledgement the SMSC may not have received (see the header). */
interface Unconfirmed {
  digest: string;
  id: string;
  sentAt: number;
  at: number;
  /** The connection and write position of a successful ack; null until one was written. */
  ack: { link: number; writeNo: number } | null;
}

/** One TCP (or TLS) connection and its SMPP session. */
class Link {
  buf: Buffer = Buffer.alloc(0);
  seq = 0;
  bound = false;
  everBound = false;
  closed = false;
  writes = 0;
  /** Every write up to this one was read by the SMSC (a response to a later request came back). */
  confirmedWrites = 0;
  readonly pending = new Map<number, Pending>();
  readonly unconfirmed = new Set<Unconfirmed>();
  enquireTimer: NodeJS.Timeout | undefined;
  enquireInFlight = false;
  confirmTimer: NodeJS.Timeout | undefined;
  connectTimer: NodeJS.Timeout | undefined;
  destroyTimer: NodeJS.Timeout | undefined;
  readonly closedPromise: Promise<void>;
  resolveClosed!: () => void;

  constructor(
    readonly id: number,
    readonly socket: net.Socket,
  ) {
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  nextSeq(): number {
    // §3.2: sequence_number 0x00000001–0x7FFFFFFF, wrapping.
    this.seq = this.seq >= 0x7fffffff ? 1 : this.seq + 1;
    return this.seq;
  }
}

interface Deliver {
  serviceType: string;
  source: SmppAddress;
  destination: SmppAddress;
  esmClass: number;
  dataCoding: number;
  shortMessage: Buffer;
  tlvs: Map<number, Buffer>;
}

interface PartJob {
  options: Record<string, unknown>;
  attempts: number;
  message: { failed: SmppSubmitError | null };
  resolve: (id: string) => void;
  reject: (e: SmppSubmitError) => void;
}

interface MoPart {
  payload: Buffer;
  dataCoding: number;
}

interface PartialMo {
  key: string;
  source: SmppAddress;
  destination: SmppAddress;
  total: number;
  parts: Map<number, MoPart>;
  timer: NodeJS.Timeout;
}

const noop = () => {};
const silent: Logger = { info: noop, warn: noop, error: noop };

// ---------------------------------------------------------------------------------------------

export class SmppClient {
  readonly #creds: SmppCredentials;
  readonly #name: string;
  readonly #log: Logger;
  readonly #clock: () => number;
  readonly #timing: SmppTiming;
  readonly #onMo: SmppClientOptions['onMo'];
  readonly #onReceipt: SmppClientOptions['onReceipt'];

  #state: SmppClientState = 'idle';
  #link: Link | null = null;
  #linkCounter = 0;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #lastError: Error | null = null;
  #closing: Promise<void> | null = null;
  #waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];

  readonly #queue: PartJob[] = [];
  #outstanding = 0;
  #throttledUntil = 0;
  #pumpTimer: NodeJS.Timeout | undefined;
  #reference = Math.floor(Math.random() * 256);

  readonly #partials = new Map<string, PartialMo>();
  /** Parts of concatenated messages already handed on: a late duplicate of one is dropped. */
  readonly #completed = new Map<string, { at: number; parts: Map<number, Buffer> }>();
  readonly #unconfirmed = new Map<string, Unconfirmed>();
  readonly #chains = new Map<string, Promise<unknown>>();

  constructor(opts: SmppClientOptions) {
    this.#creds = opts.credentials;
    this.#name = opts.name ?? `${opts.credentials.systemId}@${opts.credentials.host}:${opts.credentials.port}`;
    this.#log = opts.log ?? silent;
    this.#clock = opts.clock ?? Date.now;
    const enquireLinkMs = (opts.credentials.enquireLinkSeconds ?? 30) * 1000;
    this.#timing = { ...DEFAULT_TIMING, enquireLinkMs, ...opts.timing };
    this.#onMo = opts.onMo;
    this.#onReceipt = opts.onReceipt;
  }

  get state(): SmppClientState {
    return this.#state;
  }

  get isBound(): boolean {
    return this.#state === 'bound';
  }

  /** The last connection or bind failure (null once bound). */
  get lastError(): Error | null {
    return this.#lastError;
  }

  /** Starts connecting; the client then stays connected (reconnecting as needed) until close(). */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#open();
  }

  /**
   * start() and wait for the bind. Rejects with SmppBindError when the SMSC refuses the bind, or
   * with the connection error / a timeout; the client keeps trying in the background either way.
   */
  async connect(timeoutMs = 15_000): Promise<void> {
    this.start();
    await this.whenBound(timeoutMs);
  }

  /** Resolves when bound; rejects on the next failed attempt or after timeoutMs. */
  whenBound(timeoutMs = 15_000): Promise<void> {
    if (this.#state === 'bound') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(new Error('the SMPP client is closed'));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(this.#lastError ?? new Error(`not bound to ${this.#where()} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  /**
   * Sends a text and resolves to the SMSC's message_id of every part, in order. Throws
   * SmppSubmitError: transient when not bound, the link dropped, throttled out or no answer;
   * permanent for an invalid number, an empty or too long text, or an SMSC refusal that a retry
   * would not change.
   */
  async submit(opts: SmppSubmitOptions): Promise<string[]> {
    if (this.#closing) throw transient('closed', 'The SMPP client is closed');
    if (!this.isBound) {
      throw transient(
        'not_bound',
        `Not bound to the SMSC ${this.#where()}${this.#lastError ? ` (${this.#lastError.message})` : ''}`,
      );
    }
    const to = opts.to.trim().replace(/^\+/, '');
    if (!/^\d{1,20}$/.test(to)) {
      throw new SmppSubmitError({
        kind: 'permanent',
        reason: 'invalid_number',
        message: `${opts.to} is not a phone number`,
      });
    }
    let source: SmppAddress;
    if (opts.outboundOnly) {
      // §5.2.5 TON 5 "Alphanumeric", NPI 0 "Unknown": the sender shows as "SMS" (SPEC R6).
      source = { ton: 5, npi: 0, addr: 'SMS' };
    } else if (opts.from) {
      const from = opts.from.trim().replace(/^\+/, '');
      if (!/^\d{1,20}$/.test(from)) {
        throw new SmppSubmitError({
          kind: 'permanent',
          reason: 'invalid_sender',
          message: `${opts.from} is not a phone number`,
        });
      }
      // §5.2.5 / §5.2.6: TON 1 International, NPI 1 ISDN (E.164), digits without "+" (SPEC §7).
      source = { ton: this.#creds.sourceTon ?? 1, npi: this.#creds.sourceNpi ?? 1, addr: from };
    } else {
      source = { ton: 0, npi: 0, addr: '' };
    }
    let parts: ReturnType<typeof encodeSms>;
    try {
      parts = encodeSms(opts.text, { reference: this.#nextReference() });
    } catch (e) {
      if (e instanceof ValidationError) {
        throw new SmppSubmitError({
          kind: 'permanent',
          reason: 'invalid_text',
          message: e.fields?.[0]?.message ?? e.message,
        });
      }
      throw e;
    }
    const message = { failed: null as SmppSubmitError | null };
    const common = {
      service_type: '',
      source_addr_ton: source.ton,
      source_addr_npi: source.npi,
      source_addr: source.addr,
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: to,
      protocol_id: 0,
      priority_flag: 0,
      schedule_delivery_time: '',
      validity_period: '',
      registered_delivery: opts.registeredDelivery === false ? 0 : 1,
      replace_if_present_flag: 0,
      sm_default_msg_id: 0,
    };
    const jobs = parts.map(
      (part) =>
        new Promise<string>((resolve, reject) => {
          this.#queue.push({
            options: {
              ...common,
              esm_class: part.esmClass,
              data_coding: part.dataCoding,
              short_message: Buffer.from(part.shortMessage),
            },
            attempts: 0,
            message,
            resolve,
            reject,
          });
        }),
    );
    this.#pump();
    const settled = await Promise.allSettled(jobs);
    const ids: string[] = [];
    for (const r of settled) {
      if (r.status === 'rejected') throw message.failed ?? r.reason;
      ids.push(r.value);
    }
    return ids;
  }

  /** Unbinds (§4.2) and closes; no reconnect, no timer left. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  // -------------------------------------------------------------------------------------------
  // Connection

  #where(): string {
    return `${this.#creds.host}:${this.#creds.port}`;
  }

  #open(): void {
    this.#reconnectTimer = undefined;
    if (this.#closing) return;
    this.#state = 'connecting';
    const { host, port } = this.#creds;
    const socket = this.#creds.tls
      ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }) })
      : net.connect({ host, port });
    const link = new Link(++this.#linkCounter, socket);
    this.#link = link;
    socket.setNoDelay(true);
    link.connectTimer = setTimeout(() => {
      this.#failAttempt(new Error(`No connection to ${this.#where()} within ${this.#timing.connectTimeoutMs} ms`));
      socket.destroy();
    }, this.#timing.connectTimeoutMs);
    // Over TLS the bind waits for the handshake.
    socket.once(this.#creds.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(link.connectTimer);
      void this.#bind(link);
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#onData(link, chunk);
      } catch (e) {
        this.#log.error({ smpp: this.#name, err: String(e) }, 'SMPP: unexpected error while reading; reconnecting');
        socket.destroy();
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (!link.bound) this.#failAttempt(new Error(`Could not reach ${this.#where()} (${e.code ?? e.message})`));
      else this.#log.warn({ smpp: this.#name, err: e.code ?? e.message }, 'SMPP: connection error');
    });
    socket.on('close', () => this.#onClose(link));
  }

  /** §4.1.5 bind_transceiver with interface_version 0x34. */
  async #bind(link: Link): Promise<void> {
    this.#state = 'binding';
    let resp: Response;
    try {
      resp = await this.#request(
        link,
        'bind_transceiver',
        {
          system_id: this.#creds.systemId,
          password: this.#creds.password,
          system_type: this.#creds.systemType ?? '',
          interface_version: 0x34,
          addr_ton: 0,
          addr_npi: 0,
          address_range: '',
        },
        this.#timing.responseTimeoutMs,
      );
    } catch (e) {
      if (e instanceof NoResponse) this.#failAttempt(new Error(`${this.#where()} did not answer bind_transceiver`));
      link.socket.destroy();
      return;
    }
    if (resp.status !== ESME.ROK) {
      const err = new SmppBindError(resp.status, `The SMSC ${this.#where()}`);
      this.#log.error({ smpp: this.#name, status: resp.status }, `SMPP: ${err.message}`);
      this.#failAttempt(err);
      link.socket.destroy();
      return;
    }
    if (link.closed || this.#closing) return;
    link.bound = true;
    link.everBound = true;
    this.#state = 'bound';
    this.#attempt = 0;
    this.#lastError = null;
    const smsc = typeof resp.pdu?.system_id === 'string' ? resp.pdu.system_id : null;
    this.#log.info({ smpp: this.#name, smsc }, 'SMPP: bound (transceiver)');
    const period = this.#timing.enquireLinkMs;
    if (period > 0) link.enquireTimer = setInterval(() => this.#enquire(link), period);
    for (const w of this.#waiters.splice(0)) w.resolve();
    this.#pump();
  }

  #failAttempt(err: Error): void {
    this.#lastError = err;
    for (const w of this.#waiters.splice(0)) w.reject(err);
  }

  /** §4.11: an enquire_link unanswered within the timeout means the link is dead. */
  #enquire(link: Link): void {
    if (link.closed || !link.bound || link.enquireInFlight) return;
    link.enquireInFlight = true;
    const timeout = Math.min(this.#timing.enquireLinkTimeoutMs, this.#timing.enquireLinkMs || Infinity);
    this.#request(link, 'enquire_link', {}, timeout).then(
      () => {
        link.enquireInFlight = false;
      },
      (e: Error) => {
        link.enquireInFlight = false;
        if (e instanceof NoResponse) {
          this.#log.warn({ smpp: this.#name }, 'SMPP: no enquire_link_resp, the link is dead; reconnecting');
          link.socket.destroy();
        }
      },
    );
  }

  #onClose(link: Link): void {
    clearTimeout(link.connectTimer);
    clearTimeout(link.destroyTimer);
    clearInterval(link.enquireTimer);
    clearTimeout(link.confirmTimer);
    const wasBound = link.everBound;
    link.closed = true;
    link.bound = false;
    for (const p of link.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new LinkDown());
    }
    link.pending.clear();
    link.resolveClosed();
    if (this.#link !== link) return;
    this.#link = null;
    // Parts not yet sent fail now rather than wait for a reconnect of unknown length.
    this.#failQueue(() => transient('link_down', `The connection to the SMSC ${this.#where()} was lost`));
    if (this.#closing) {
      this.#state = 'closed';
      return;
    }
    if (wasBound) this.#log.warn({ smpp: this.#name }, 'SMPP: connection lost; reconnecting');
    else if (!this.#lastError) this.#failAttempt(new Error(`${this.#where()} closed the connection before the bind`));
    this.#state = 'connecting';
    // Exponential backoff with jitter (the delay is drawn from the upper half), capped.
    const base = Math.min(this.#timing.reconnectMaxMs, this.#timing.reconnectMinMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    const delay = base / 2 + Math.random() * (base / 2);
    this.#reconnectTimer = setTimeout(() => this.#open(), delay);
  }

  async #close(): Promise<void> {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    clearTimeout(this.#pumpTimer);
    this.#pumpTimer = undefined;
    for (const p of this.#partials.values()) clearTimeout(p.timer);
    if (this.#partials.size > 0) {
      this.#log.warn(
        { smpp: this.#name, partial: this.#partials.size },
        'SMPP: closing with incomplete concatenated messages; their acknowledged parts are dropped',
      );
    }
    this.#partials.clear();
    this.#failQueue(() => transient('closed', 'The SMPP client was closed'));
    for (const w of this.#waiters.splice(0)) w.reject(new Error('the SMPP client was closed'));
    const link = this.#link;
    if (!link || link.closed) {
      this.#state = 'closed';
      return;
    }
    if (link.bound) {
      // Let outstanding submit_sm be answered, then unbind (§4.2).
      const until = Date.now() + this.#timing.closeGraceMs;
      while (this.#outstanding > 0 && Date.now() < until && !link.closed) await sleep(10);
      try {
        await this.#request(link, 'unbind', {}, Math.min(this.#timing.responseTimeoutMs, 2_000));
      } catch {
        // no unbind_resp: the socket is closed all the same
      }
      link.socket.end();
      if (!link.closed) link.destroyTimer = setTimeout(() => link.socket.destroy(), 1_000);
    } else {
      link.socket.destroy();
    }
    await link.closedPromise;
    this.#state = 'closed';
  }

  // -------------------------------------------------------------------------------------------
  // Framing and dispatch

  #write(link: Link, bytes: Buffer): number {
    if (link.closed || link.socket.destroyed || !link.socket.writable) return 0;
    link.socket.write(bytes);
    link.writes += 1;
    return link.writes;
  }

  #request(link: Link, command: string, options: Record<string, unknown>, timeoutMs: number): Promise<Response> {
    if (link.closed || !link.socket.writable) return Promise.reject(new LinkDown());
    const seq = link.nextSeq();
    let bytes: Buffer;
    try {
      bytes = new smpp.PDU(command, { ...options, sequence_number: seq }).toBuffer();
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        link.pending.delete(seq);
        reject(new NoResponse(command, timeoutMs));
      }, timeoutMs);
      const writeNo = this.#write(link, bytes);
      if (writeNo === 0) {
        clearTimeout(timer);
        reject(new LinkDown());
        return;
      }
      link.pending.set(seq, { command, resolve, reject, timer, writeNo });
    });
  }

  #onData(link: Link, chunk: Buffer): void {
    if (link.closed) return;
    link.buf = link.buf.length === 0 ? chunk : Buffer.concat([link.buf, chunk]);
    while (link.buf.length >= 4 && !link.closed) {
      const length = link.buf.readUInt32BE(0);
      if (length < HEADER_LENGTH || length > MAX_PDU_LENGTH) {
        // §3.2: the stream cannot be re-synchronised after an impossible command_length.
        const seq = link.buf.length >= HEADER_LENGTH ? link.buf.readUInt32BE(12) : 0;
        this.#log.warn(
          { smpp: this.#name, commandLength: length },
          'SMPP: invalid command_length, framing lost; generic_nack and reconnect',
        );
        link.buf = Buffer.alloc(0);
        this.#write(link, nack(ESME.RINVCMDLEN, seq));
        link.socket.end();
        link.destroyTimer = setTimeout(() => link.socket.destroy(), 500);
        return;
      }
      if (link.buf.length < length) return;
      const raw = Buffer.from(link.buf.subarray(0, length));
      link.buf = link.buf.subarray(length);
      this.#onPdu(link, raw);
    }
  }

  #onPdu(link: Link, raw: Buffer): void {
    const commandId = raw.readUInt32BE(4);
    const status = raw.readUInt32BE(8);
    const seq = raw.readUInt32BE(12);
    if (commandId & RESPONSE_BIT) {
      this.#onResponse(link, raw, commandId, status, seq);
      return;
    }
    const command = smpp.commandsById[commandId]?.command;
    switch (command) {
      case 'enquire_link':
        this.#write(link, encode('enquire_link_resp', { sequence_number: seq }));
        return;
      case 'deliver_sm':
        void this.#onDeliver(link, raw, seq);
        return;
      case 'unbind':
        // §4.2: the SMSC ends the session (maintenance, ...); answer, close, and come back later.
        this.#log.warn({ smpp: this.#name }, 'SMPP: the SMSC unbound; reconnecting');
        this.#write(link, encode('unbind_resp', { sequence_number: seq }));
        link.bound = false;
        link.socket.end();
        link.destroyTimer = setTimeout(() => link.socket.destroy(), 1_000);
        return;
      case 'alert_notification':
        return; // §4.12: no response is defined
      case undefined:
        // §4.3: an unknown command_id is answered with generic_nack ESME_RINVCMDID.
        this.#log.warn({ smpp: this.#name, commandId }, 'SMPP: unknown command_id; generic_nack');
        this.#write(link, nack(ESME.RINVCMDID, seq));
        return;
      default: {
        // A known operation an ESME does not serve (data_sm, submit_sm from the SMSC, ...).
        this.#log.warn({ smpp: this.#name, command }, 'SMPP: unsupported operation from the SMSC');
        const resp = `${command}_resp`;
        this.#write(
          link,
          smpp.commands[resp]
            ? encode(resp, { sequence_number: seq, command_status: ESME.RINVCMDID })
            : nack(ESME.RINVCMDID, seq),
        );
      }
    }
  }

  #onResponse(link: Link, raw: Buffer, commandId: number, status: number, seq: number): void {
    const p = link.pending.get(seq);
    if (!p) {
      this.#log.warn({ smpp: this.#name, commandId, seq }, 'SMPP: a response to no request of ours');
      return;
    }
    link.pending.delete(seq);
    clearTimeout(p.timer);
    // The SMSC has read everything we wrote before this request.
    if (p.writeNo > link.confirmedWrites) {
      link.confirmedWrites = p.writeNo;
      this.#confirmAcks(link);
    }
    let pdu: Pdu | null = null;
    if (status === ESME.ROK && commandId !== GENERIC_NACK) {
      try {
        pdu = smpp.PDU.fromBuffer(raw) || null;
      } catch {
        pdu = null; // an unreadable body: the status in the header still counts
      }
    }
    p.resolve({ commandId, status, pdu });
  }

  // -------------------------------------------------------------------------------------------
  // submit_sm window

  #nextReference(): number {
    this.#reference = (this.#reference + 1) & 0xff;
    return this.#reference;
  }

  #failQueue(error: () => SmppSubmitError): void {
    for (const job of this.#queue.splice(0)) {
      const e = job.message.failed ?? error();
      job.message.failed ??= e;
      job.reject(e);
    }
  }

  #pump(): void {
    const link = this.#link;
    while (link?.bound && this.#queue.length > 0 && this.#outstanding < (this.#creds.windowSize ?? 10)) {
      const wait = this.#throttledUntil - Date.now();
      if (wait > 0) {
        if (!this.#pumpTimer) {
          this.#pumpTimer = setTimeout(() => {
            this.#pumpTimer = undefined;
            this.#pump();
          }, wait);
        }
        return;
      }
      const job = this.#queue.shift()!;
      if (job.message.failed) {
        job.reject(job.message.failed);
        continue;
      }
      this.#outstanding += 1;
      this.#request(link, 'submit_sm', job.options, this.#timing.responseTimeoutMs)
        .then(
          (resp) => this.#onSubmitResp(job, resp),
          (e: Error) =>
            this.#failJob(
              job,
              e instanceof NoResponse
                ? transient('no_response', `The SMSC did not answer submit_sm in ${this.#timing.responseTimeoutMs} ms`)
                : e instanceof LinkDown
                  ? transient('link_down', 'The connection to the SMSC was lost before submit_sm was answered')
                  : transient('error', `submit_sm could not be sent: ${e.message}`),
            ),
        )
        .finally(() => {
          this.#outstanding -= 1;
          this.#pump();
        });
    }
  }

  #failJob(job: PartJob, e: SmppSubmitError): void {
    job.message.failed ??= e;
    job.reject(job.message.failed);
  }

  #onSubmitResp(job: PartJob, resp: Response): void {
    const status = resp.status;
    if (status === ESME.ROK && resp.commandId !== GENERIC_NACK) {
      job.resolve(typeof resp.pdu?.message_id === 'string' ? resp.pdu.message_id : '');
      return;
    }
    const delay = this.#timing.throttleDelayMs * 2 ** job.attempts;
    if (THROTTLING.has(status)) {
      if (job.attempts < this.#timing.throttleRetries && !job.message.failed) {
        job.attempts += 1;
        // The SMSC asks us to slow down: pause the whole window, then retry this part first.
        this.#throttledUntil = Math.max(this.#throttledUntil, Date.now() + delay);
        this.#queue.unshift(job);
        this.#log.info({ smpp: this.#name, status, attempt: job.attempts, delayMs: delay }, 'SMPP: throttled');
        return;
      }
      this.#failJob(
        job,
        new SmppSubmitError({
          kind: 'transient',
          reason: 'throttled',
          message: `The SMSC kept answering ${statusName(status)}`,
          commandStatus: status,
          retryAfterMs: delay,
        }),
      );
      return;
    }
    const permanent = PERMANENT.get(status);
    this.#failJob(
      job,
      new SmppSubmitError({
        kind: permanent ? 'permanent' : 'transient',
        reason: permanent ?? 'smsc_error',
        message: `The SMSC refused submit_sm: ${statusName(status)}`,
        commandStatus: status,
      }),
    );
  }

  // -------------------------------------------------------------------------------------------
  // deliver_sm

  async #onDeliver(link: Link, raw: Buffer, seq: number): Promise<void> {
    let d: Deliver;
    try {
      d = parseDeliver(raw);
    } catch (e) {
      this.#log.warn(
        { smpp: this.#name, err: String(e) },
        'SMPP: deliver_sm body does not fit its length; generic_nack',
      );
      this.#write(link, nack(ESME.RINVCMDLEN, seq));
      return;
    }
    let status: number = ESME.ROK;
    let entry: Unconfirmed | undefined;
    try {
      const type = d.esmClass & ESM_TYPE_MASK;
      if (type === ESM_TYPE_RECEIPT || type === ESM_TYPE_INTERMEDIATE) await this.#receipt(d, type);
      else if (type === 0) ({ status, entry } = await this.#mo(link, d));
      else this.#log.info({ smpp: this.#name, esmClass: d.esmClass }, 'SMPP: deliver_sm of another type ignored');
    } catch (e) {
      // The event was not stored: a temporary error makes the SMSC deliver it again.
      this.#log.error(
        { smpp: this.#name, err: String(e) },
        'SMPP: handling deliver_sm failed; answering ESME_RX_T_APPN',
      );
      status = ESME.RX_T_APPN;
    }
    const writeNo = this.#write(link, encode('deliver_sm_resp', { sequence_number: seq, command_status: status }));
    if (entry && status === ESME.ROK && writeNo > 0) {
      entry.ack = { link: link.id, writeNo };
      link.unconfirmed.add(entry);
      this.#scheduleConfirm(link);
    }
  }

  async #receipt(d: Deliver, type: number): Promise<void> {
    const text = receiptBody(d);
    const tlvId = d.tlvs.get(TLV.receipted_message_id);
    const id = (tlvId ? cstring(tlvId) : '') || /(?:^|\s)id:(\S+)/i.exec(text)?.[1] || '';
    let stat = /(?:^|\s)stat:([A-Za-z]+)/i.exec(text)?.[1]?.toUpperCase();
    const state = d.tlvs.get(TLV.message_state)?.[0];
    if (!stat && state !== undefined) stat = MESSAGE_STATE_STAT[state];
    const err = /(?:^|\s)err:(\w+)/i.exec(text)?.[1] ?? null;
    if (!id || !stat) {
      this.#log.warn({ smpp: this.#name, text: text.slice(0, 200) }, 'SMPP: unreadable delivery receipt ignored');
      return;
    }
    const status = type === ESM_TYPE_INTERMEDIATE ? null : RECEIPT_STATUS[stat];
    if (status === undefined) {
      this.#log.warn({ smpp: this.#name, id, stat }, 'SMPP: delivery receipt with an unknown stat ignored');
      return;
    }
    if (status === null) return; // ACCEPTD / ENROUTE / intermediate: nothing final yet
    if (status === 'failed') this.#log.info({ smpp: this.#name, id, stat, err }, 'SMPP: part not delivered');
    const ev: InboundReceiptEvent = {
      kind: 'receipt',
      platformMessageId: id,
      status,
      ...(status === 'failed' ? { failureReason: stat } : {}),
    };
    await this.#onReceipt?.(ev, { stat, err, source: d.source, destination: d.destination });
  }

  async #mo(link: Link, d: Deliver): Promise<{ status: number; entry?: Unconfirmed }> {
    let sm = d.shortMessage;
    const payloadTlv = d.tlvs.get(TLV.message_payload);
    if (sm.length === 0 && payloadTlv) sm = payloadTlv; // §5.3.2.32
    let concat: ConcatInfo | null = null;
    let payload: Buffer = sm;
    if (d.esmClass & ESM_CLASS_UDHI) {
      try {
        const r = parseUdh(sm);
        concat = r.udh;
        payload = Buffer.from(r.payload);
      } catch (e) {
        this.#log.warn({ smpp: this.#name, err: String(e) }, 'SMPP: client message with a malformed UDH refused');
        return { status: ESME.RX_P_APPN };
      }
    }
    concat ??= sarConcat(d.tlvs);
    const part: MoPart = { payload, dataCoding: d.dataCoding };
    if (!concat || concat.total === 1) return this.#complete(link, d.source, d.destination, null, [part]);

    const key = [d.source.ton, d.source.addr, d.destination.addr, concat.referenceBits, concat.ref, concat.total].join(
      '|',
    );
    const done = this.#completed.get(key);
    if (done?.parts.get(concat.seq)?.equals(payload)) return { status: ESME.ROK }; // a late copy of a handed-on part
    let p = this.#partials.get(key);
    if (!p) {
      p = {
        key,
        source: d.source,
        destination: d.destination,
        total: concat.total,
        parts: new Map(),
        timer: setTimeout(() => void this.#expire(key), this.#timing.concatTimeoutMs),
      };
      this.#partials.set(key, p);
    }
    p.parts.set(concat.seq, part);
    if (p.parts.size < p.total) return { status: ESME.ROK }; // buffered: acknowledged now (see the header)
    const ordered = [...p.parts.entries()].sort(([a], [b]) => a - b).map(([, v]) => v);
    const result = await this.#complete(link, d.source, d.destination, key, ordered);
    if (result.status !== ESME.RX_T_APPN && this.#partials.get(key) === p) {
      clearTimeout(p.timer);
      this.#partials.delete(key);
      this.#rememberCompleted(key, p.parts);
    }
    return result;
  }

  #rememberCompleted(key: string, parts: Map<number, MoPart>): void {
    const now = Date.now();
    for (const [k, v] of this.#completed) {
      if (now - v.at > this.#timing.concatTimeoutMs || this.#completed.size > 1000) this.#completed.delete(k);
      else break;
    }
    this.#completed.set(key, { at: now, parts: new Map([...parts].map(([seq, part]) => [seq, part.payload])) });
  }

  /** Parts stopped coming: hand on what arrived, the gaps marked, rather than lose it. */
  async #expire(key: string): Promise<void> {
    const p = this.#partials.get(key);
    if (!p) return;
    this.#partials.delete(key);
    this.#rememberCompleted(key, p.parts);
    this.#log.warn(
      { smpp: this.#name, from: p.source.addr, received: p.parts.size, total: p.total },
      'SMPP: concatenated message incomplete after the timeout; handing on the parts that arrived',
    );
    const texts: string[] = [];
    for (let seq = 1; seq <= p.total; seq++) {
      const part = p.parts.get(seq);
      if (!part) {
        texts.push('[…]');
        continue;
      }
      const text = this.#decode([part]);
      texts.push(text ?? '[…]');
    }
    try {
      await this.#emitMo(null, p.source, p.destination, [...p.parts.values()], texts.join(''), `${key}|partial`);
    } catch (e) {
      this.#log.error({ smpp: this.#name, err: String(e) }, 'SMPP: storing an incomplete concatenated message failed');
    }
  }

  /** Text of the parts, or null when it is not readable text (invalid UCS-2, binary, ...). */
  #decode(parts: MoPart[]): string | null {
    const codings = new Set(parts.map((p) => p.dataCoding));
    const groups = codings.size === 1 ? [parts] : parts.map((p) => [p]);
    let text = '';
    for (const group of groups) {
      const dc = group[0]!.dataCoding;
      if (isUcs2Coding(dc)) {
        if (group.some((p) => p.payload.length % 2 === 1)) return null;
        const joined = Buffer.concat(group.map((p) => p.payload));
        if (hasLoneSurrogate(joined)) return null;
        text += decodeSms(joined, dc);
        continue;
      }
      try {
        text += decodeSms(Buffer.concat(group.map((p) => p.payload)), dc, {
          ...(this.#creds.defaultAlphabet ? { defaultAlphabet: this.#creds.defaultAlphabet } : {}),
        });
      } catch (e) {
        if (e instanceof SmsDecodeError) return null;
        throw e;
      }
    }
    return text;
  }

  async #complete(
    link: Link,
    source: SmppAddress,
    destination: SmppAddress,
    key: string | null,
    parts: MoPart[],
  ): Promise<{ status: number; entry?: Unconfirmed }> {
    const text = this.#decode(parts);
    if (text === null) {
      this.#log.warn(
        { smpp: this.#name, from: source.addr, dataCoding: parts[0]?.dataCoding },
        'SMPP: client message is not readable text (invalid UCS-2 or an unsupported data_coding); refused',
      );
      return { status: ESME.RX_P_APPN };
    }
    if (!source.addr.trim()) {
      this.#log.warn({ smpp: this.#name }, 'SMPP: client message without a source address refused');
      return { status: ESME.RX_P_APPN };
    }
    const entry = await this.#emitMo(link, source, destination, parts, text, key ?? '');
    return { status: ESME.ROK, entry };
  }

  async #emitMo(
    link: Link | null,
    source: SmppAddress,
    destination: SmppAddress,
    parts: MoPart[],
    text: string,
    key: string,
  ): Promise<Unconfirmed> {
    const hash = createHash('sha256');
    hash.update(JSON.stringify([source.ton, source.addr, destination.addr, parts[0]?.dataCoding ?? 0, key]));
    for (const p of parts) hash.update(p.payload);
    const digest = hash.digest('hex').slice(0, 32);
    const now = this.#clock();
    this.#pruneUnconfirmed(now);
    const known = this.#unconfirmed.get(digest);
    const entry: Unconfirmed = known ?? {
      digest,
      id: `${digest}.${now.toString(36)}`,
      sentAt: now,
      at: now,
      ack: null,
    };
    if (known) {
      // A redelivery: the earlier ack never arrived or may not have. Forget where it was written.
      if (known.ack) this.#linkById(known.ack.link)?.unconfirmed.delete(known);
      known.ack = null;
    } else {
      this.#unconfirmed.set(digest, entry);
    }
    const country = countryOf(destination);
    const sender = normaliseSource(source, country);
    const to = normaliseNumber(destination);
    const ev: InboundMessageEvent = {
      kind: 'message',
      platformMessageId: entry.id,
      text,
      sentAt: entry.sentAt,
      externalUserId: sender.externalUserId,
      ...(sender.phone ? { phone: sender.phone } : {}),
    };
    const meta: SmppMoMeta = {
      to,
      source,
      destination,
      dataCoding: parts[0]?.dataCoding ?? 0,
      parts: parts.length,
      redelivery: known !== undefined,
    };
    if (!this.#onMo) {
      this.#log.warn({ smpp: this.#name }, 'SMPP: client message with no handler dropped');
      return entry;
    }
    // One client's messages are handed on in the order they arrived.
    await this.#serial(sender.externalUserId, () => this.#onMo!(ev, meta));
    if (!link) this.#unconfirmed.delete(digest); // nothing will be acknowledged (an expired partial)
    return entry;
  }

  #linkById(id: number): Link | null {
    return this.#link?.id === id ? this.#link : null;
  }

  #pruneUnconfirmed(now: number): void {
    for (const [digest, e] of this.#unconfirmed) {
      if (now - e.at > this.#timing.redeliveryWindowMs || this.#unconfirmed.size > 10_000) {
        this.#unconfirmed.delete(digest);
      } else {
        break; // insertion order is arrival order
      }
    }
  }

  #confirmAcks(link: Link): void {
    for (const e of link.unconfirmed) {
      if (e.ack && e.ack.writeNo <= link.confirmedWrites) {
        link.unconfirmed.delete(e);
        if (this.#unconfirmed.get(e.digest) === e) this.#unconfirmed.delete(e.digest);
      }
    }
  }

  /** An enquire_link soon after acks: its response proves the SMSC read them (see the header). */
  #scheduleConfirm(link: Link): void {
    if (link.confirmTimer) return;
    link.confirmTimer = setTimeout(() => {
      link.confirmTimer = undefined;
      if (link.unconfirmed.size === 0 || link.closed || !link.bound) return;
      this.#request(link, 'enquire_link', {}, this.#timing.enquireLinkTimeoutMs).catch(noop);
    }, this.#timing.ackConfirmDelayMs);
  }

  #serial<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const next = prev.then(fn);
    const tail = next.then(noop, noop);
    this.#chains.set(key, tail);
    void tail.then(() => {
      if (this.#chains.get(key) === tail) this.#chains.delete(key);
    });
    return next;
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function transient(reason: string, message: string): SmppSubmitError {
  return new SmppSubmitError({ kind: 'transient', reason, message });
}

function encode(command: string, options: Record<string, unknown>): Buffer {
  return new smpp.PDU(command, options).toBuffer();
}

/** §4.3 generic_nack: the header alone. */
function nack(status: number, seq: number): Buffer {
  return encode('generic_nack', { command_status: status, sequence_number: seq });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The mandatory fields of a deliver_sm (§4.6.1) as raw values — short_message as its exact octets,
 * without the package's text decoding — and its TLVs (§5.3) as tag → octets.
 */
function parseDeliver(raw: Buffer): Deliver {
  const params = smpp.commands.deliver_sm?.params ?? {};
  const fields: Record<string, unknown> = {};
  let offset = HEADER_LENGTH;
  try {
    for (const [name, p] of Object.entries(params)) {
      if (offset >= raw.length) throw new PduFormatError(`deliver_sm ends before ${name}`);
      const value = p.type.read(raw, offset);
      fields[name] = value;
      offset += p.type.size(value);
    }
  } catch (e) {
    throw e instanceof PduFormatError ? e : new PduFormatError(String(e));
  }
  if (offset > raw.length) throw new PduFormatError('deliver_sm fields run past command_length');
  const tlvs = new Map<number, Buffer>();
  while (offset < raw.length) {
    if (offset + 4 > raw.length) throw new PduFormatError('a TLV header runs past command_length');
    const tag = raw.readUInt16BE(offset);
    const len = raw.readUInt16BE(offset + 2);
    if (offset + 4 + len > raw.length) throw new PduFormatError(`TLV 0x${tag.toString(16)} runs past command_length`);
    tlvs.set(tag, raw.subarray(offset + 4, offset + 4 + len));
    offset += 4 + len;
  }
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    serviceType: str(fields.service_type),
    source: { ton: num(fields.source_addr_ton), npi: num(fields.source_addr_npi), addr: str(fields.source_addr) },
    destination: { ton: num(fields.dest_addr_ton), npi: num(fields.dest_addr_npi), addr: str(fields.destination_addr) },
    esmClass: num(fields.esm_class),
    dataCoding: num(fields.data_coding),
    shortMessage: Buffer.isBuffer(fields.short_message) ? Buffer.from(fields.short_message) : Buffer.alloc(0),
    tlvs,
  };
}

/** §5.3.2.22–24: concatenation by TLVs instead of a UDH (16-bit reference). */
function sarConcat(tlvs: Map<number, Buffer>): ConcatInfo | null {
  const ref = tlvs.get(TLV.sar_msg_ref_num);
  const total = tlvs.get(TLV.sar_total_segments)?.[0];
  const seq = tlvs.get(TLV.sar_segment_seqnum)?.[0];
  if (!ref || ref.length < 2 || !total || !seq || seq > total) return null;
  return { ref: ref.readUInt16BE(0), referenceBits: 16, total, seq };
}

function receiptBody(d: Deliver): string {
  const bytes = d.shortMessage.length > 0 ? d.shortMessage : (d.tlvs.get(TLV.message_payload) ?? Buffer.alloc(0));
  // Appendix B text is ASCII whatever the data_coding says (UCS-2 receipts exist, rarely).
  if (isUcs2Coding(d.dataCoding) && bytes.length % 2 === 0 && bytes.length > 1 && bytes[0] === 0) {
    return Buffer.from(bytes).swap16().toString('utf16le');
  }
  return bytes.toString('latin1');
}

function cstring(b: Buffer): string {
  const end = b.indexOf(0);
  return b.toString('latin1', 0, end < 0 ? b.length : end).trim();
}

/** data_coding 8 and the 23.038 groups that mean UCS-2 (as decodeSms reads them). */
function isUcs2Coding(dc: number): boolean {
  return dc === 8 || (dc >= 0x10 && dc <= 0x1f && ((dc >> 2) & 3) === 2) || (dc >= 0xe0 && dc <= 0xef);
}

function hasLoneSurrogate(bytes: Buffer): boolean {
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const u = bytes.readUInt16BE(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = i + 3 < bytes.length ? bytes.readUInt16BE(i + 2) : -1;
      if (next < 0xdc00 || next > 0xdfff) return true;
      i += 2;
    } else if (u >= 0xdc00 && u <= 0xdfff) {
      return true;
    }
  }
  return false;
}

/** The country of one of our numbers, to read national-format senders in. */
function countryOf(a: SmppAddress): CountryCode | undefined {
  const e164 = normaliseNumber(a);
  return e164 ? parsePhoneNumberFromString(e164)?.country : undefined;
}

/** An address that is a number, in E.164 (`+48500100200`), or null. */
export function normaliseNumber(a: SmppAddress, country?: CountryCode): string | null {
  const r = normaliseSource(a, country);
  return r.phone ?? (/^\+?\d+$/.test(r.externalUserId) ? `+${r.externalUserId.replace(/^\+/, '')}` : null);
}

/**
 * The sender of a client message as the inbound pipeline names it: a valid number → its E.164 as
 * both identity and phone; an alphanumeric sender (TON 5, or letters) → its text; anything else
 * (a short code) → its digits, with "+" when the SMSC said international.
 */
export function normaliseSource(a: SmppAddress, country?: CountryCode): { externalUserId: string; phone?: string } {
  const raw = a.addr.trim();
  if (a.ton === 5 || !/^(\+|00)?\d+$/.test(raw)) return { externalUserId: raw };
  const international = raw.startsWith('+') || a.ton === 1;
  const digits = raw.replace(/^\+/, '').replace(/^00(?=[1-9])/, '');
  const tryParse = (text: string, c?: CountryCode) => {
    const p = parsePhoneNumberFromString(text, c);
    return p?.isValid() ? (p.number as string) : undefined;
  };
  let e164: string | undefined;
  if (international || raw.startsWith('00')) e164 = tryParse(`+${digits}`);
  else if (a.ton === 2) e164 = country ? tryParse(digits, country) : undefined;
  else e164 = (country ? tryParse(digits, country) : undefined) ?? tryParse(`+${digits}`);
  if (e164) return { externalUserId: e164, phone: e164 };
  return { externalUserId: international ? `+${digits}` : digits };
}
