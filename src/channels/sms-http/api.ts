// The HTTP SMS gateway protocol (docs/SMS-GATEWAY.md), our side of it:
//   signing   both directions carry `X-Dziennik-Timestamp: <unix seconds>` and
//             `X-Dziennik-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`, keyed by
//             the channel's shared secret; a receiver accepts a timestamp within 5 minutes of its
//             clock, so a captured request cannot be replayed later;
//   sending   POST <sendUrl> {id, from?, fromType?, to, text, encoding, segments}; 200/201/202
//             {messageId}; 429 (Retry-After), 408, 425, 5xx and no answer are worth retrying; 400/422
//             {error:{code,message}}, 401/403 and anything else are not.
// There is no standard HTTP SMS API: this small one is what a gateway (or a shim in front of any
// SMS provider) speaks to be a Dziennik channel.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { analyzeSms, MAX_PARTS, type SmsEncoding } from '../../core/sms.js';
import { type ChannelSender, type OutboundTarget, type OutboundText, SendError, type SendResult } from '../outbound.js';

export const TIMESTAMP_HEADER = 'x-dziennik-timestamp';
export const SIGNATURE_HEADER = 'x-dziennik-signature';
/** How far a signed request's timestamp may be from the receiver's clock, either way. */
export const REPLAY_WINDOW_SECONDS = 300;
/** The originator of an outbound-only number (SPEC R6, §7). */
export const ALPHANUMERIC_SENDER = 'SMS';

export type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function mac(secret: string, timestamp: string, body: Buffer | string): Buffer {
  return createHmac('sha256', secret)
    .update(`${timestamp}.`)
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest();
}

/** `sha256=<hex>` over `<timestamp>.<body>`: the value of X-Dziennik-Signature. */
export function signature(secret: string, timestamp: number | string, body: Buffer | string): string {
  return `sha256=${mac(secret, String(timestamp), body).toString('hex')}`;
}

/** The two headers that sign `body` at `nowMs`. */
export function signedHeaders(
  secret: string,
  body: Buffer | string,
  nowMs: number,
): { 'X-Dziennik-Timestamp': string; 'X-Dziennik-Signature': string } {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { 'X-Dziennik-Timestamp': timestamp, 'X-Dziennik-Signature': signature(secret, timestamp, body) };
}

export type VerifyResult =
  | { ok: true }
  | {
      ok: false;
      /** missing: a header is absent; malformed: not a number / not sha256=<64 hex>; stale: outside the window. */
      reason: 'missing' | 'malformed' | 'stale' | 'mismatch';
      message: string;
    };

/**
 * Checks a signed request on its exact bytes, before anything parses them: both headers present
 * and well-formed, the timestamp within `windowSeconds` of `nowMs`, and the HMAC equal in constant
 * time. Without a secret nothing verifies.
 */
export function verifySignature(
  rawBody: Buffer,
  headers: Headers,
  secret: string | null | undefined,
  nowMs: number,
  windowSeconds = REPLAY_WINDOW_SECONDS,
): VerifyResult {
  const ts = header(headers, TIMESTAMP_HEADER)?.trim();
  const sig = header(headers, SIGNATURE_HEADER)?.trim();
  if (!ts || !sig) {
    return { ok: false, reason: 'missing', message: 'X-Dziennik-Timestamp and X-Dziennik-Signature are required' };
  }
  if (!/^\d{1,12}$/.test(ts)) {
    return { ok: false, reason: 'malformed', message: 'X-Dziennik-Timestamp must be unix time in seconds' };
  }
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(sig);
  if (!m) return { ok: false, reason: 'malformed', message: 'X-Dziennik-Signature must be sha256=<64 hex digits>' };
  if (Math.abs(nowMs / 1000 - Number(ts)) > windowSeconds) {
    return {
      ok: false,
      reason: 'stale',
      message: `X-Dziennik-Timestamp is more than ${windowSeconds} s away from our clock (a replay, or the gateway's clock is wrong)`,
    };
  }
  if (!secret || !timingSafeEqual(mac(secret, ts, rawBody), Buffer.from(m[1]!, 'hex'))) {
    return { ok: false, reason: 'mismatch', message: 'X-Dziennik-Signature does not match the body and timestamp' };
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------------------
// Sending

/** The JSON body of a send request. */
export interface SmsGatewaySendRequest {
  /** messages.id as a string: the idempotency key (a repeated id must not send again). */
  id: string;
  /** E.164 of our number, or "SMS" for an outbound-only one; absent: the gateway's default sender. */
  from?: string;
  fromType?: 'number' | 'alphanumeric';
  /** E.164 of the client. */
  to: string;
  text: string;
  /** What the text needs (GSM 03.38 or UCS-2) and how many parts it is billed as, for the gateway's checks. */
  encoding: SmsEncoding;
  segments: number;
}

export interface SmsGatewayOptions {
  /** Where send requests go (the channel's `sendUrl`). */
  sendUrl: string;
  /** The channel's shared secret: signs requests and verifies callbacks. */
  secret: string;
  fetch?: typeof fetch;
  /** Per request; 15 s by default. */
  timeoutMs?: number;
  /** Epoch milliseconds, for the timestamp. */
  clock?: () => number;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/** Retry-After beyond a day is treated as a day: the outbox keeps trying, it does not give up. */
const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

/** Builds the body of a send request; throws a permanent SendError for a text no SMS can carry. */
export function sendRequest(target: OutboundTarget, message: OutboundText): SmsGatewaySendRequest {
  const sms = analyzeSms(message.text);
  if (sms.segments === 0)
    throw new SendError({ kind: 'permanent', reason: 'empty_text', message: 'An SMS needs text' });
  if (sms.segments > MAX_PARTS) {
    throw new SendError({
      kind: 'permanent',
      reason: 'text_too_long',
      message: `The text needs ${sms.segments} SMS parts; at most ${MAX_PARTS} can be joined`,
    });
  }
  const sender: Pick<SmsGatewaySendRequest, 'from' | 'fromType'> = target.outboundOnly
    ? { from: ALPHANUMERIC_SENDER, fromType: 'alphanumeric' }
    : target.fromNumber
      ? { from: target.fromNumber, fromType: 'number' }
      : {};
  return {
    id: String(message.messageId),
    ...sender,
    to: target.externalUserId,
    text: message.text,
    encoding: sms.encoding,
    segments: sms.segments,
  };
}

/** The outbound port over the HTTP gateway protocol: one signed POST per message. */
export class SmsGatewaySender implements ChannelSender {
  readonly #opts: SmsGatewayOptions;
  readonly #host: string;

  constructor(opts: SmsGatewayOptions) {
    this.#opts = opts;
    let host = opts.sendUrl;
    try {
      host = new URL(opts.sendUrl).host;
    } catch {
      // reported as it is configured
    }
    // Only the host ever reaches messages and logs: the URL may carry an API key.
    this.#host = host;
  }

  async send(target: OutboundTarget, message: OutboundText): Promise<SendResult> {
    const body = JSON.stringify(sendRequest(target, message));
    const clock = this.#opts.clock ?? Date.now;
    const doFetch = this.#opts.fetch ?? fetch;
    const timeoutMs = this.#opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(this.#opts.sendUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': String(message.messageId),
          ...signedHeaders(this.#opts.secret, body, clock()),
        },
        body,
        // A redirect would resend a signed request to a place nobody configured.
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      const err = e as { name?: string; cause?: { code?: string } };
      const timeout = err.name === 'TimeoutError' || err.name === 'AbortError';
      throw new SendError({
        kind: 'transient',
        reason: timeout ? 'gateway_timeout' : 'gateway_unreachable',
        message: timeout
          ? `No answer from the SMS gateway ${this.#host} in ${timeoutMs} ms`
          : `Could not reach the SMS gateway ${this.#host} (${err.cause?.code ?? 'network error'})`,
      });
    }
    const answer = parseJson(text);
    const status = res.status;
    if (status >= 200 && status < 300) return { platformMessageId: gatewayId(answer?.messageId) };
    throw this.#failure(res, answer);
  }

  #failure(res: Response, answer: Record<string, unknown> | undefined): SendError {
    const status = res.status;
    const error = answer && typeof answer.error === 'object' && answer.error !== null ? answer.error : undefined;
    const said = (error as { message?: unknown } | undefined)?.message;
    const words = typeof said === 'string' && said.trim() ? `: ${said.trim().slice(0, 300)}` : '';
    const where = `The SMS gateway ${this.#host} answered HTTP ${status}${words}`;
    if (status === 429) {
      return new SendError({
        kind: 'transient',
        reason: 'rate_limited',
        message: where,
        retryAfterMs: retryAfterMs(res.headers.get('retry-after'), (this.#opts.clock ?? Date.now)()),
      });
    }
    if (status === 408 || status === 425 || status >= 500) {
      return new SendError({ kind: 'transient', reason: 'gateway_unavailable', message: where });
    }
    if (status === 401 || status === 403) {
      return new SendError({
        kind: 'permanent',
        reason: 'gateway_auth',
        message: `${where} (it refused our signature: check the channel's secret and the gateway's clock)`,
      });
    }
    if (status === 400 || status === 422) {
      const code = errorCode((error as { code?: unknown } | undefined)?.code);
      return new SendError({
        kind: 'permanent',
        reason: code ?? 'gateway_rejected',
        message: where,
        // The recipient sent STOP: writing again is pointless (and in many countries unlawful).
        unreachable: code === 'opted_out' ? 'unsubscribed' : undefined,
      });
    }
    if (status >= 300 && status < 400) {
      return new SendError({
        kind: 'permanent',
        reason: 'gateway_redirect',
        message: `${where}; the send URL redirects — configure the final URL`,
      });
    }
    return new SendError({ kind: 'permanent', reason: 'gateway_rejected', message: where });
  }
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The gateway's message id: a non-empty string, or an integer that JSON kept exact. */
function gatewayId(v: unknown): string | null {
  if (typeof v === 'string' && v.trim() !== '' && v.length <= 200) return v.trim();
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return null;
}

/** An error code fit to show as a failure reason: short, lower-case letters, digits, `_ . -`. */
function errorCode(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const code = v.trim().toLowerCase();
  return /^[a-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowMs;
  }
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}
