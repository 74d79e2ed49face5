import { createHmac, timingSafeEqual } from 'node:crypto';
import type { InboundAttachment, InboundEvent } from '../../core/inbound.js';

/**
 * Viber REST Bot API callbacks (https://developers.viber.com/docs/api/rest-bot-api/#callbacks).
 * Each callback is signed: `X-Viber-Content-Signature` is the hex HMAC-SHA256 of the raw body keyed
 * by the bot's auth token. `message_token` is a 64-bit integer written as a bare JSON number
 * (e.g. 4912661846655238145), beyond what a JavaScript number holds: it is read from the raw text.
 */

export type Headers = Record<string, string | string[] | undefined>;

export interface ParseResult {
  events: InboundEvent[];
  /** What was deliberately not stored, for the log. */
  ignored: string[];
}

export const SIGNATURE_HEADER = 'x-viber-content-signature';

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** True when the signature header is the HMAC of these exact bytes under the auth token. */
export function verify(rawBody: Buffer, headers: Headers, authToken: string | null | undefined): boolean {
  const given = header(headers, SIGNATURE_HEADER)?.trim().toLowerCase();
  if (!authToken || !given || !/^[0-9a-f]{64}$/.test(given)) return false;
  const expected = createHmac('sha256', authToken).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(given, 'hex'));
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Quotes the value of every `"message_token": <integer>` key so JSON.parse keeps all its digits.
 * A key inside a string value is preceded by a backslash (its quote is escaped) and is left alone.
 */
export function quoteMessageTokens(json: string): string {
  return json.replace(/(?<!\\)"message_token"(\s*):(\s*)(-?\d+)/g, '"message_token"$1:$2"$3"');
}

function token(cb: Obj): string | undefined {
  const t = cb.message_token;
  if (typeof t === 'string' && /^-?\d{1,20}$/.test(t)) return t;
  // A token small enough to be exact as a number (the webhook check uses short ones).
  if (typeof t === 'number' && Number.isSafeInteger(t)) return String(t);
  return undefined;
}

/** Parses one callback. Throws on a body that is not a JSON callback; unknown events yield nothing. */
export function parse(rawBody: Buffer): ParseResult {
  const cb: unknown = JSON.parse(quoteMessageTokens(rawBody.toString('utf8')));
  if (!isObj(cb) || typeof cb.event !== 'string') throw new TypeError('not a Viber callback: event is missing');
  const sentAt = typeof cb.timestamp === 'number' ? cb.timestamp : Number.NaN;
  const messageToken = token(cb);
  const need = (what: string) => new TypeError(`Viber ${cb.event} callback without ${what}`);

  switch (cb.event) {
    case 'webhook':
      // set_webhook's check: answering 200 is all it needs.
      return { events: [], ignored: ['webhook check'] };
    case 'message': {
      const sender = isObj(cb.sender) ? cb.sender : undefined;
      const msg = isObj(cb.message) ? cb.message : undefined;
      if (!sender || typeof sender.id !== 'string' || !msg) throw need('sender.id or message');
      if (!messageToken) throw need('message_token');
      const { text, attachments } = content(msg);
      return {
        events: [
          {
            kind: 'message',
            platformMessageId: messageToken,
            externalUserId: sender.id,
            displayName: str(sender.name)?.trim() || undefined,
            text,
            ...(attachments.length > 0 ? { attachments } : {}),
            sentAt,
          },
        ],
        ignored: [],
      };
    }
    case 'conversation_started': {
      const user = isObj(cb.user) ? cb.user : undefined;
      if (!user || typeof user.id !== 'string') throw need('user.id');
      if (!messageToken) throw need('message_token');
      const context = str(cb.context)?.trim();
      return {
        events: [
          {
            kind: 'start',
            eventId: messageToken,
            externalUserId: user.id,
            displayName: str(user.name)?.trim() || undefined,
            sentAt,
            ...(context ? { deepLinkToken: context } : {}),
          },
        ],
        ignored: [],
      };
    }
    case 'subscribed': {
      const user = isObj(cb.user) ? cb.user : undefined;
      if (!user || typeof user.id !== 'string') throw need('user.id');
      return { events: [{ kind: 'reachable', externalUserId: user.id, eventId: messageToken }], ignored: [] };
    }
    case 'unsubscribed': {
      const userId = str(cb.user_id);
      if (!userId) throw need('user_id');
      return {
        events: [{ kind: 'unreachable', externalUserId: userId, reason: 'unsubscribed', eventId: messageToken }],
        ignored: [],
      };
    }
    case 'delivered':
    case 'seen':
    case 'failed': {
      if (!messageToken) throw need('message_token');
      const status = cb.event === 'seen' ? 'read' : cb.event;
      return {
        events: [
          {
            kind: 'receipt',
            platformMessageId: messageToken,
            status,
            ...(status === 'failed' ? { failureReason: str(cb.desc) ?? 'failed' } : {}),
          },
        ],
        ignored: [],
      };
    }
    default:
      return { events: [], ignored: [`event ${cb.event}`] };
  }
}

// Message types of "Receive message from user" (text, picture, video, file, sticker, contact, url,
// location): the text, and the rest as attachments.
function content(msg: Obj): { text: string; attachments: InboundAttachment[] } {
  const type = str(msg.type) ?? 'text';
  const text = str(msg.text) ?? '';
  const media = str(msg.media);
  const attachments: InboundAttachment[] = [];
  switch (type) {
    case 'text':
      break;
    case 'url':
      return { text: text || media || '', attachments };
    case 'location': {
      const loc = isObj(msg.location) ? msg.location : undefined;
      if (loc && typeof loc.lat === 'number' && typeof loc.lon === 'number') {
        attachments.push({ type: 'location', url: `geo:${loc.lat},${loc.lon}` });
      }
      break;
    }
    case 'contact': {
      const c = isObj(msg.contact) ? msg.contact : undefined;
      const name = [str(c?.name), str(c?.phone_number)].filter(Boolean).join(' ');
      attachments.push({ type: 'contact', ...(name ? { name } : {}) });
      break;
    }
    default:
      attachments.push({
        type,
        ...(media ? { url: media } : {}),
        ...(str(msg.file_name) ? { name: str(msg.file_name) } : {}),
      });
  }
  return { text, attachments };
}
