import { createHash, timingSafeEqual } from 'node:crypto';
import type { InboundAttachment, InboundEvent } from '../../core/inbound.js';

/**
 * Telegram Bot API webhooks (https://core.telegram.org/bots/api#setwebhook,
 * https://core.telegram.org/bots/api#update). The request is ours when the
 * `X-Telegram-Bot-Api-Secret-Token` header equals the `secret_token` we gave setWebhook; the body is
 * one Update. We read private-chat messages (`/start <payload>` is the deep link of
 * https://core.telegram.org/bots/features#deep-linking) and `my_chat_member` (the user blocked or
 * unblocked the bot); every other update type is acknowledged and ignored.
 */

export type Headers = Record<string, string | string[] | undefined>;

export interface ParseResult {
  events: InboundEvent[];
  /** What was deliberately not stored, for the log. */
  ignored: string[];
}

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Constant-time equality of two strings of any length (digests hide the length, too). */
function sameSecret(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}

/** True when the request carries our secret token. The body is not signed by Telegram. */
export function verify(_rawBody: Buffer, headers: Headers, secret: string | null | undefined): boolean {
  const given = header(headers, SECRET_HEADER);
  if (!secret || given === undefined || given === '') return false;
  return sameSecret(given, secret);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The deep-link command: "/start" or "/start@bot", then the payload (A–Z a–z 0–9 _ -, up to 64). */
const START = /^\/start(?:@[A-Za-z0-9_]+)?(?:\s+(\S+))?\s*$/;

/** Parses one Update. Throws on a body that is not a JSON Update; an unknown type yields nothing. */
export function parse(rawBody: Buffer): ParseResult {
  const update: unknown = JSON.parse(rawBody.toString('utf8'));
  if (!isObj(update) || typeof update.update_id !== 'number' || !Number.isSafeInteger(update.update_id)) {
    throw new TypeError('not a Telegram Update: update_id is missing');
  }
  const updateId = update.update_id;
  if (isObj(update.message)) return message(update.message, updateId);
  if (isObj(update.my_chat_member)) return chatMember(update.my_chat_member, updateId);
  const type = Object.keys(update).find((k) => k !== 'update_id') ?? 'empty';
  return { events: [], ignored: [`update ${updateId}: type ${type}`] };
}

function message(m: Obj, updateId: number): ParseResult {
  const chat = isObj(m.chat) ? m.chat : undefined;
  const from = isObj(m.from) ? m.from : undefined;
  if (chat?.type !== 'private' || !from || typeof from.id !== 'number') {
    return { events: [], ignored: [`update ${updateId}: not a private chat message`] };
  }
  if (from.is_bot === true) return { events: [], ignored: [`update ${updateId}: from a bot`] };
  if (typeof m.message_id !== 'number' || typeof chat.id !== 'number') {
    throw new TypeError(`update ${updateId}: message without message_id or chat.id`);
  }
  const sender = {
    externalUserId: String(from.id),
    displayName: [str(from.first_name), str(from.last_name)].filter(Boolean).join(' ').trim() || undefined,
    handle: str(from.username) ? `@${from.username}` : undefined,
  };
  // No date: the service uses the time of receipt.
  const sentAt = typeof m.date === 'number' ? m.date * 1000 : Number.NaN;
  const text = str(m.text) ?? str(m.caption) ?? '';

  const start = str(m.text) !== undefined ? START.exec(text) : null;
  if (start) {
    return {
      events: [{ kind: 'start', eventId: `update:${updateId}`, sentAt, deepLinkToken: start[1], ...sender }],
      ignored: [],
    };
  }

  const attachments: InboundAttachment[] = [];
  let phone: string | undefined;
  const file = (type: string, f: unknown) => {
    if (!isObj(f) || typeof f.file_id !== 'string') return;
    attachments.push({
      type,
      fileId: f.file_id,
      ...(str(f.file_name) ? { name: str(f.file_name) } : {}),
      ...(str(f.mime_type) ? { mimeType: str(f.mime_type) } : {}),
    });
  };
  // A photo comes in several sizes, smallest first: keep the largest.
  if (Array.isArray(m.photo) && m.photo.length > 0) file('photo', m.photo[m.photo.length - 1]);
  for (const type of ['document', 'audio', 'video', 'voice', 'video_note', 'sticker', 'animation']) {
    if (type === 'document' && isObj(m.animation)) continue; // an animation also carries a document
    file(type, m[type]);
  }
  if (isObj(m.location) && typeof m.location.latitude === 'number' && typeof m.location.longitude === 'number') {
    attachments.push({ type: 'location', url: `geo:${m.location.latitude},${m.location.longitude}` });
  }
  if (isObj(m.contact) && typeof m.contact.phone_number === 'string') {
    const number = e164(m.contact.phone_number);
    attachments.push({ type: 'contact', name: [str(m.contact.first_name), number].filter(Boolean).join(' ') });
    // The user shared their own number (the "share my phone" button): that is the client's phone.
    if (m.contact.user_id === from.id) phone = number;
  }
  if (text === '' && attachments.length === 0) {
    return { events: [], ignored: [`update ${updateId}: a service message without content`] };
  }
  return {
    events: [
      {
        kind: 'message',
        platformMessageId: `${chat.id}:${m.message_id}`,
        text,
        ...(attachments.length > 0 ? { attachments } : {}),
        sentAt,
        ...sender,
        ...(phone ? { phone } : {}),
      },
    ],
    ignored: [],
  };
}

/** Telegram writes contact numbers without formatting, with or without "+". */
function e164(raw: string): string | undefined {
  const digits = raw.replace(/\D/g, '');
  return digits.length >= 8 && digits.length <= 15 ? `+${digits}` : undefined;
}

// https://core.telegram.org/bots/api#chatmemberupdated: in a private chat the bot's new status
// "kicked" means the user blocked it, "member" that they unblocked (or restarted) it.
function chatMember(u: Obj, updateId: number): ParseResult {
  const chat = isObj(u.chat) ? u.chat : undefined;
  const from = isObj(u.from) ? u.from : undefined;
  const status = isObj(u.new_chat_member) ? u.new_chat_member.status : undefined;
  if (chat?.type !== 'private' || !from || typeof from.id !== 'number') {
    return { events: [], ignored: [`update ${updateId}: my_chat_member outside a private chat`] };
  }
  const externalUserId = String(from.id);
  const eventId = `update:${updateId}`;
  if (status === 'kicked')
    return { events: [{ kind: 'unreachable', externalUserId, reason: 'blocked', eventId }], ignored: [] };
  if (status === 'member') return { events: [{ kind: 'reachable', externalUserId, eventId }], ignored: [] };
  return { events: [], ignored: [`update ${updateId}: my_chat_member status ${String(status)}`] };
}
