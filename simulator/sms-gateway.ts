// A fake HTTP SMS gateway speaking Dziennik's gateway protocol (docs/SMS-GATEWAY.md), written from
// that document alone (nothing here is imported from src/), so that the app and the simulator are
// two independent readings of it:
//   signing   every request either way carries X-Dziennik-Timestamp (unix seconds) and
//             X-Dziennik-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">, keyed by
//             the shared secret; a timestamp more than 300 s away is refused ("Signing");
//   sending   POST <base>/send {id, from?, fromType?, to, text, encoding, segments} → 202
//             {messageId} (200 with the same messageId when the id was seen before: "Idempotency");
//             401 bad signature, 400 {error:{code,message}} for a malformed request, 422 invalid_number
//             ("Send: answers");
//   callbacks {type:"message",...} and {type:"status",...} posted to the webhook URL, signed, one at
//             a time in order; retried with backoff on no answer, 408, 429 and 5xx only, each attempt
//             signed afresh ("Callbacks", "Retries").
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  type ApiRequest,
  type ApiResponse,
  type Delivery,
  FaultQueue,
  json,
  type RetryPolicy,
  type Runtime,
  type WebhookAttempt,
} from './runtime.js';

export type SmsGatewayFault =
  /** 429 with Retry-After (seconds, default 1) */
  | { kind: 'rateLimit'; retryAfterSeconds?: number }
  /** 5xx (default 503), plain text */
  | { kind: 'serverError'; status?: number }
  /** 422 {error:{code:"invalid_number"}} */
  | { kind: 'invalidNumber' }
  /** 401 {error:{code:"unauthorized"}}, as if the secret did not match */
  | { kind: 'unauthorized' }
  /** any documented refusal: 400/422 with this error code */
  | { kind: 'error'; status?: 400 | 422; code: string; message?: string };

/** One accepted send request. */
export interface SmsGatewaySent {
  /** Dziennik's id (the idempotency key) */
  id: string;
  /** the gateway's id, answered as messageId */
  messageId: string;
  from: string | null;
  fromType: 'number' | 'alphanumeric' | null;
  to: string;
  text: string;
  encoding: 'gsm7' | 'ucs2';
  segments: number;
  at: number;
}

/** Every request to /send as the gateway saw it, accepted or not. */
export interface SmsGatewayCall {
  status: number;
  /** the raw body text */
  body: string;
  signatureOk: boolean;
  /** the error code answered, when refused */
  error?: string;
  at: number;
}

/** What the handset reports for each accepted message: a status after a delay, or none (null). */
export type SmsGatewayReceipts = { status: 'delivered' | 'failed'; error?: string; delayMs?: number } | null;

export type SmsGatewayEvent = { type: string } & Record<string, unknown>;

export interface SmsGatewayUserInput {
  from: string;
  to: string;
  text: string;
  /** the gateway's id of the incoming SMS (generated when absent) */
  id?: string;
  /** ISO 8601; the simulator's clock when absent */
  receivedAt?: string;
}

const WINDOW_SECONDS = 300;
const E164 = /^\+[1-9]\d{6,14}$/;
const ALPHANUMERIC = /^[A-Za-z0-9 ]{1,11}$/;
const RETRYABLE = (status: number) => status === 0 || status === 408 || status === 429 || status >= 500;

export class SmsGatewaySim {
  readonly #faults = new FaultQueue<SmsGatewayFault>();
  #secret: string | null = null;
  #webhookUrl: string | null = null;
  #receipts: SmsGatewayReceipts = { status: 'delivered', delayMs: 100 };
  #sent: SmsGatewaySent[] = [];
  #calls: SmsGatewayCall[] = [];
  #callbacks: SmsGatewayEvent[] = [];
  readonly #byId = new Map<string, SmsGatewaySent>();
  readonly #incoming = new Map<string, SmsGatewayEvent>();
  #nextMessageId = 1;
  #nextIncomingId = 1;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly rt: Runtime,
    private readonly retry: RetryPolicy,
  ) {}

  /**
   * Sets up the gateway as its operator would: the secret shared with the Dziennik channel, and the
   * channel's webhook URL (the channel's `webhookUrl`) for incoming SMS and delivery reports.
   */
  configure(opts: { secret: string; webhookUrl?: string | null; receipts?: SmsGatewayReceipts }): void {
    this.#secret = opts.secret;
    if (opts.webhookUrl !== undefined) this.#webhookUrl = opts.webhookUrl;
    if (opts.receipts !== undefined) this.#receipts = opts.receipts;
  }

  setWebhook(url: string | null): void {
    this.#webhookUrl = url;
  }

  webhook(): string | null {
    return this.#webhookUrl;
  }

  /** The report sent for every accepted message from now on (default: delivered after 100 ms); null: none. */
  setReceipts(policy: SmsGatewayReceipts): void {
    this.#receipts = policy;
  }

  /** Accepted messages, in order (a repeated id is not recorded twice). */
  sent(): SmsGatewaySent[] {
    return [...this.#sent];
  }

  /** Every /send request, refused ones included. */
  calls(): SmsGatewayCall[] {
    return [...this.#calls];
  }

  /** Every event posted (or waiting to be posted) to the webhook, in order. */
  callbacks(): SmsGatewayEvent[] {
    return [...this.#callbacks];
  }

  /** The next `times` send requests fail with the fault (after the signature check). */
  failNext(fault: SmsGatewayFault, opts: { times?: number } = {}): void {
    this.#faults.push(fault, opts.times ?? 1);
  }

  setLatency(ms: number): void {
    this.#faults.latencyMs = ms;
  }

  clearFaults(): void {
    this.#faults.clear();
  }

  /** A phone sends an SMS to one of our numbers: a signed `message` callback. */
  sendFromUser(input: SmsGatewayUserInput): Promise<Delivery<SmsGatewayEvent>> {
    const event: SmsGatewayEvent = {
      type: 'message',
      id: input.id ?? `in_${String(this.#nextIncomingId++).padStart(6, '0')}`,
      from: input.from,
      to: input.to,
      text: input.text,
      receivedAt: input.receivedAt ?? new Date(this.rt.now()).toISOString(),
    };
    this.#incoming.set(String(event.id), event);
    return this.post(event);
  }

  /** The same incoming SMS once more (a gateway retrying after a lost answer), signed afresh. */
  redeliver(id: string): Promise<Delivery<SmsGatewayEvent>> {
    const event = this.#incoming.get(id);
    if (!event) throw new Error(`sms-gateway: no incoming SMS ${id}`);
    return this.post(event);
  }

  delivered(messageId: string): Promise<Delivery<SmsGatewayEvent>> {
    return this.#status(messageId, 'delivered');
  }

  failed(messageId: string, error = 'undeliverable'): Promise<Delivery<SmsGatewayEvent>> {
    return this.#status(messageId, 'failed', error);
  }

  /**
   * Posts any body (an event, a batch `{events:[...]}`, or something malformed) to the webhook,
   * signed with the shared secret unless `sign` says otherwise; in order with every other callback.
   */
  post(
    body: unknown,
    sign: { secret?: string; timestampSeconds?: number } | false = {},
  ): Promise<Delivery<SmsGatewayEvent>> {
    const event = (typeof body === 'object' && body !== null ? body : { type: 'raw', body }) as SmsGatewayEvent;
    this.#callbacks.push(event);
    const url = this.#webhookUrl;
    if (!url) return Promise.resolve({ event, queued: true, ok: false, status: 0, body: '', attempts: 0 });
    const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const run = this.#chain.then(async (): Promise<Delivery<SmsGatewayEvent>> => {
      const attempts: WebhookAttempt[] = [];
      let delay = this.retry.delayMs;
      for (let i = 0; i < Math.max(1, this.retry.attempts); i++) {
        if (i > 0) {
          await this.rt.sleep(delay);
          delay *= 2;
        }
        const headers: Record<string, string> = { 'Content-Type': 'application/json' };
        if (sign !== false) {
          const secret = sign.secret ?? this.#secret;
          if (!secret) throw new Error('sms-gateway: configure({ secret }) first');
          const ts = String(sign.timestampSeconds ?? Math.floor(this.rt.now() / 1000));
          headers['X-Dziennik-Timestamp'] = ts;
          headers['X-Dziennik-Signature'] = `sha256=${mac(secret, ts, bytes).toString('hex')}`;
        }
        const a = await this.rt.request({ url, method: 'POST', headers, body: bytes }, this.retry.timeoutMs);
        attempts.push(a);
        if (!RETRYABLE(a.status)) break;
      }
      const last = attempts[attempts.length - 1]!;
      const ok = last.status >= 200 && last.status < 300;
      return { event, queued: false, ok, status: last.status, body: last.body, attempts: attempts.length };
    });
    this.#chain = run.catch(() => {});
    return run;
  }

  async handle(req: ApiRequest & { raw?: Buffer | undefined }): Promise<ApiResponse> {
    if (this.#faults.latencyMs) await this.rt.sleep(this.#faults.latencyMs);
    const path = req.segments.join('/');
    // The connection test (HEAD or GET on the send URL) only needs an answer below 500.
    if (req.httpMethod === 'GET' || req.httpMethod === 'HEAD') {
      return json(200, { ok: true, gateway: 'Dziennik SMS gateway simulator' });
    }
    if (req.httpMethod !== 'POST' || path !== 'send') return refuse(404, 'not_found', `No ${req.httpMethod} /${path}`);
    return this.#send(req.raw ?? Buffer.alloc(0), req.headers);
  }

  #send(raw: Buffer, headers: ApiRequest['headers']): ApiResponse {
    const at = this.rt.now();
    const record = (res: ApiResponse, signatureOk: boolean, error?: string) => {
      this.#calls.push({ status: res.status, body: raw.toString('utf8'), signatureOk, error, at });
      return res;
    };
    const bad = this.#checkSignature(raw, headers);
    if (bad) return record(refuse(401, 'unauthorized', bad), false, 'unauthorized');
    const fault = this.#faults.take('send');
    if (fault) {
      const res = faultResponse(fault);
      return record(res, true, fault.kind);
    }
    let body: Record<string, unknown>;
    try {
      const v: unknown = JSON.parse(raw.toString('utf8'));
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      body = v as Record<string, unknown>;
    } catch {
      return record(refuse(400, 'invalid_request', 'The body must be a JSON object'), true, 'invalid_request');
    }
    const problem = malformed(body);
    if (problem) return record(refuse(400, 'invalid_request', problem), true, 'invalid_request');
    const id = body.id as string;
    const seen = this.#byId.get(id);
    if (seen) return record(json(200, { messageId: seen.messageId }), true);
    const to = body.to as string;
    if (!E164.test(to)) {
      return record(refuse(422, 'invalid_number', `${to} is not a number in E.164 format`), true, 'invalid_number');
    }
    const sent: SmsGatewaySent = {
      id,
      messageId: `gw_${String(this.#nextMessageId++).padStart(8, '0')}`,
      from: typeof body.from === 'string' ? body.from : null,
      fromType: (body.fromType as SmsGatewaySent['fromType']) ?? null,
      to,
      text: body.text as string,
      encoding: body.encoding as SmsGatewaySent['encoding'],
      segments: body.segments as number,
      at,
    };
    this.#sent.push(sent);
    this.#byId.set(id, sent);
    const policy = this.#receipts;
    if (policy) {
      this.rt.after(policy.delayMs ?? 0, () => {
        void this.#status(sent.messageId, policy.status, policy.error).catch(() => {});
      });
    }
    return record(json(202, { messageId: sent.messageId }), true);
  }

  /** The reason a request's signature is not good, or undefined when it is. */
  #checkSignature(raw: Buffer, headers: ApiRequest['headers']): string | undefined {
    const ts = first(headers['x-dziennik-timestamp']);
    const sig = first(headers['x-dziennik-signature']);
    if (!this.#secret) return 'The gateway has no shared secret configured';
    if (!ts || !sig) return 'X-Dziennik-Timestamp and X-Dziennik-Signature are required';
    if (!/^\d+$/.test(ts)) return 'X-Dziennik-Timestamp must be unix seconds';
    if (Math.abs(this.rt.now() / 1000 - Number(ts)) > WINDOW_SECONDS)
      return 'The timestamp is outside the 5-minute window';
    const m = /^sha256=([0-9a-f]{64})$/i.exec(sig);
    if (!m || !timingSafeEqual(mac(this.#secret, ts, raw), Buffer.from(m[1]!, 'hex'))) {
      return 'The signature does not match';
    }
    return undefined;
  }

  #status(messageId: string, status: 'delivered' | 'failed', error?: string): Promise<Delivery<SmsGatewayEvent>> {
    return this.post({
      type: 'status',
      messageId,
      status,
      ...(status === 'failed' ? { error: error ?? 'failed' } : {}),
    });
  }
}

function mac(secret: string, timestamp: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** What is wrong with a send request's fields ("Send: request"), or undefined. */
function malformed(b: Record<string, unknown>): string | undefined {
  if (typeof b.id !== 'string' || b.id === '') return 'id is required (a string)';
  if (typeof b.to !== 'string' || b.to === '') return 'to is required';
  if (typeof b.text !== 'string' || b.text === '') return 'text is required';
  if (b.encoding !== 'gsm7' && b.encoding !== 'ucs2') return 'encoding must be gsm7 or ucs2';
  if (typeof b.segments !== 'number' || !Number.isInteger(b.segments) || b.segments < 1) {
    return 'segments must be a positive integer';
  }
  if (b.from !== undefined) {
    if (b.fromType === 'number' && !(typeof b.from === 'string' && E164.test(b.from))) {
      return 'from must be an E.164 number when fromType is number';
    }
    if (b.fromType === 'alphanumeric' && !(typeof b.from === 'string' && ALPHANUMERIC.test(b.from))) {
      return 'from must be 1-11 letters, digits or spaces when fromType is alphanumeric';
    }
    if (b.fromType !== 'number' && b.fromType !== 'alphanumeric') return 'fromType must be number or alphanumeric';
  } else if (b.fromType !== undefined) {
    return 'fromType needs from';
  }
  return undefined;
}

function refuse(status: number, code: string, message: string): ApiResponse {
  return json(status, { error: { code, message } });
}

function faultResponse(f: SmsGatewayFault): ApiResponse {
  switch (f.kind) {
    case 'rateLimit': {
      const seconds = f.retryAfterSeconds ?? 1;
      return json(
        429,
        { error: { code: 'rate_limited', message: 'Too many requests' } },
        { 'retry-after': String(seconds) },
      );
    }
    case 'serverError':
      return { status: f.status ?? 503, body: 'Service Unavailable', headers: { 'content-type': 'text/plain' } };
    case 'invalidNumber':
      return refuse(422, 'invalid_number', 'The destination is not a valid mobile number');
    case 'unauthorized':
      return refuse(401, 'unauthorized', 'The signature does not match');
    case 'error':
      return refuse(f.status ?? 422, f.code, f.message ?? f.code);
  }
}
