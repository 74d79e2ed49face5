import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { InboundAttachment, InboundEvent } from '../../core/inbound.js';

/**
 * Messenger Platform webhooks (https://developers.facebook.com/docs/messenger-platform/webhooks,
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started). The verification GET
 * echoes `hub.challenge` when `hub.verify_token` is ours; each POST is signed with
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the payload, keyed by the app secret>`, computed
 * by Meta over the bytes as sent (non-ASCII escaped as \uXXXX), so only the raw body can be checked.
 * Events (…/reference/webhook-events/): messages, message_echoes (ours: ignored), message_deliveries,
 * message_reads, messaging_referrals, messaging_postbacks.
 */

export type Headers = Record<string, string | string[] | undefined>;

export interface ParseResult {
  events: InboundEvent[];
  /** What was deliberately not stored, for the log. */
  ignored: string[];
}

export const SIGNATURE_HEADER = 'x-hub-signature-256';

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** True when `X-Hub-Signature-256` is the HMAC of these exact bytes under the app secret. */
export function verify(rawBody: Buffer, headers: Headers, appSecret: string | null | undefined): boolean {
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header(headers, SIGNATURE_HEADER)?.trim() ?? '');
  if (!appSecret || !m) return false;
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(m[1]!, 'hex'));
}

/** The verification GET: the challenge to echo, or undefined to refuse (403). */
export function verifySubscription(query: Record<string, unknown>, verifyToken: string | null | undefined) {
  const mode = query['hub.mode'];
  const token = query['hub.verify_token'];
  const challenge = query['hub.challenge'];
  if (mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string' || !verifyToken) {
    return undefined;
  }
  const a = createHash('sha256').update(token).digest();
  const b = createHash('sha256').update(verifyToken).digest();
  return timingSafeEqual(a, b) ? challenge : undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Parses one webhook payload (`{object:"page", entry:[{id, time, messaging:[…]}]}`; Meta batches
 * events, so there may be many). Entries for another page than `pageId` are skipped. Throws on a
 * body that is not JSON or not an object; unknown events yield nothing.
 */
export function parse(rawBody: Buffer, opts: { pageId?: string } = {}): ParseResult {
  const payload: unknown = JSON.parse(rawBody.toString('utf8'));
  if (!isObj(payload)) throw new TypeError('not a webhook payload');
  const ignored: string[] = [];
  const events: InboundEvent[] = [];
  if (payload.object !== 'page') return { events, ignored: [`object ${String(payload.object)}`] };
  if (!Array.isArray(payload.entry)) throw new TypeError('page payload without entry[]');
  for (const entry of payload.entry) {
    if (!isObj(entry)) throw new TypeError('entry is not an object');
    const pageId = str(entry.id) ?? (typeof entry.id === 'number' ? String(entry.id) : undefined);
    if (opts.pageId && pageId !== opts.pageId) {
      ignored.push(`entry for page ${pageId ?? '?'}`);
      continue;
    }
    if (!Array.isArray(entry.messaging)) {
      ignored.push('entry without messaging (changes or standby)');
      continue;
    }
    for (const ev of entry.messaging) {
      if (!isObj(ev)) throw new TypeError('messaging event is not an object');
      event(ev, events, ignored);
    }
  }
  return { events, ignored };
}

function event(ev: Obj, out: InboundEvent[], ignored: string[]): void {
  const psid = isObj(ev.sender) ? str(ev.sender.id) : undefined;
  const sentAt = typeof ev.timestamp === 'number' ? ev.timestamp : Number.NaN;
  const msg = isObj(ev.message) ? ev.message : undefined;
  if (msg?.is_echo === true) {
    // Our own replies (and the page inbox's) come back as echoes: the outbox already has ours.
    ignored.push(`echo ${str(msg.mid) ?? ''}`);
    return;
  }
  if (!psid) {
    ignored.push('event without sender.id (chat plugin user_ref)');
    return;
  }
  const referral = (r: unknown) => (isObj(r) ? str(r.ref)?.trim() || undefined : undefined);

  if (msg) {
    const mid = str(msg.mid);
    if (!mid) throw new TypeError('message without mid');
    const attachments: InboundAttachment[] = [];
    if (Array.isArray(msg.attachments)) {
      for (const a of msg.attachments) {
        if (!isObj(a)) continue;
        const url = isObj(a.payload) ? str(a.payload.url) : undefined;
        attachments.push({ type: str(a.type) ?? 'file', ...(url ? { url } : {}) });
      }
    }
    const token = referral(ev.referral) ?? referral(msg.referral);
    out.push({
      kind: 'message',
      platformMessageId: mid,
      externalUserId: psid,
      text: str(msg.text) ?? '',
      ...(attachments.length > 0 ? { attachments } : {}),
      sentAt,
      ...(token ? { deepLinkToken: token } : {}),
    });
    return;
  }
  if (isObj(ev.delivery)) {
    const d = ev.delivery;
    if (Array.isArray(d.mids)) {
      for (const mid of d.mids) {
        if (typeof mid === 'string') out.push({ kind: 'receipt', platformMessageId: mid, status: 'delivered' });
      }
    }
    // "watermark is always present ... all messages with a timestamp before watermark were delivered".
    if (typeof d.watermark === 'number') {
      out.push({ kind: 'watermark', externalUserId: psid, status: 'delivered', watermark: d.watermark });
    }
    return;
  }
  if (isObj(ev.read)) {
    if (typeof ev.read.watermark !== 'number') throw new TypeError('read without watermark');
    out.push({ kind: 'watermark', externalUserId: psid, status: 'read', watermark: ev.read.watermark });
    return;
  }
  if (isObj(ev.referral)) {
    const token = referral(ev.referral);
    out.push({
      kind: 'start',
      eventId: `referral:${psid}:${String(ev.timestamp)}`,
      externalUserId: psid,
      sentAt,
      ...(token ? { deepLinkToken: token } : {}),
    });
    return;
  }
  if (isObj(ev.postback)) {
    const pb = ev.postback;
    const token = referral(pb.referral);
    out.push({
      kind: 'start',
      eventId: `postback:${str(pb.mid) ?? `${psid}:${String(ev.timestamp)}`}`,
      externalUserId: psid,
      sentAt,
      ...(token ? { deepLinkToken: token } : {}),
    });
    return;
  }
  ignored.push(`event ${Object.keys(ev).find((k) => !['sender', 'recipient', 'timestamp'].includes(k)) ?? '?'}`);
}

/**
 * Names of people from the User Profile API
 * (https://developers.facebook.com/docs/messenger-platform/identity/user-profile):
 * `GET {GRAPH_API_URL}/{PSID}?fields=first_name,last_name&access_token=…`, cached in memory.
 * A failed look-up answers undefined (the message is stored anyway, under the PSID) and is not
 * retried for a short while, so an outage of the Graph API does not slow every webhook.
 */
export interface ProfileLookupOptions {
  fetch: typeof fetch;
  graphApiUrl: string;
  ttlMs?: number;
  failureTtlMs?: number;
  maxEntries?: number;
  timeoutMs?: number;
  now?: () => number;
}

export type ProfileLookup = (psid: string, pageAccessToken: string) => Promise<string | undefined>;

export function createProfileLookup(opts: ProfileLookupOptions): ProfileLookup {
  const ttl = opts.ttlMs ?? 60 * 60 * 1000;
  const failureTtl = opts.failureTtlMs ?? 30 * 1000;
  const max = opts.maxEntries ?? 10_000;
  const timeout = opts.timeoutMs ?? 2000;
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { name: string | undefined; until: number }>();
  const base = opts.graphApiUrl.replace(/\/+$/, '');

  return async (psid, pageAccessToken) => {
    const key = `${createHash('sha256').update(pageAccessToken).digest('base64url').slice(0, 12)}:${psid}`;
    const hit = cache.get(key);
    if (hit && hit.until > now()) return hit.name;
    let name: string | undefined;
    try {
      const url = new URL(`${base}/${encodeURIComponent(psid)}`);
      url.searchParams.set('fields', 'first_name,last_name');
      url.searchParams.set('access_token', pageAccessToken);
      const res = await opts.fetch(url, { signal: AbortSignal.timeout(timeout) });
      if (res.ok) {
        const body = (await res.json()) as Obj;
        name = [str(body.first_name), str(body.last_name)].filter(Boolean).join(' ').trim() || undefined;
      } else {
        await res.body?.cancel();
      }
    } catch {
      name = undefined;
    }
    if (cache.size >= max) cache.delete(cache.keys().next().value!);
    cache.set(key, { name, until: now() + (name ? ttl : failureTtl) });
    return name;
  };
}
