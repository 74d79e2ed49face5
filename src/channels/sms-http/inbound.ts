import { parsePhoneNumberWithError } from 'libphonenumber-js';
import { z } from 'zod';
import { type FieldIssue, ValidationError } from '../../core/errors.js';
import type { InboundMessageEvent, InboundReceiptEvent } from '../../core/inbound.js';

/**
 * What an HTTP SMS gateway posts to `POST /webhooks/sms/{channelId}` (docs/SMS-GATEWAY.md), after
 * its signature has been verified on the raw bytes (api.ts `verifySignature`):
 *
 *   {"type":"message","id":"…","from":"+48…","to":"+48…","text":"…","receivedAt":"<ISO 8601>"}
 *   {"type":"status","messageId":"…","status":"delivered"|"failed","error":"…"}
 *   {"events":[ …up to 100 of the above… ]}
 *
 * A body that is not JSON, or an event of a known type with a missing or bad field, is refused as a
 * whole (ValidationError naming every bad field, e.g. `body.events.1.from`): nothing of it is stored,
 * and the gateway can fix it. An event of an unknown `type` is acknowledged and ignored, so that a
 * gateway newer than us is not stuck retrying it.
 */

/** The most events one request may carry. */
export const MAX_BATCH = 100;

/** The gateway's own message ids may collide with the ids it gave our sent messages: incoming ones get this prefix. */
export const INBOUND_ID_PREFIX = 'mo:';

const PHONE_ERRORS: Record<string, string> = {
  NOT_A_NUMBER: 'is not a phone number',
  INVALID_COUNTRY: 'must be in international format: + and the country code, e.g. +48601234567',
  TOO_SHORT: 'is too short for a phone number',
  TOO_LONG: 'is too long for a phone number',
  INVALID_LENGTH: 'has a length no number of that country has',
};

/**
 * A phone number in international format (`+48601234567`, `+48 601 234 567`, `0048601234567`) →
 * E.164. National formats are refused: without a country a gateway's `601234567` is ambiguous.
 */
export const GatewayPhone = z
  .string({ error: 'is required: a phone number in international format as a string, e.g. "+48601234567"' })
  .trim()
  .max(40, 'is too long for a phone number')
  .transform((value, c) => {
    const input = value.replace(/^00(?=[1-9])/, '+');
    if (!input.startsWith('+')) {
      c.addIssue({ code: 'custom', message: PHONE_ERRORS.INVALID_COUNTRY! });
      return z.NEVER;
    }
    try {
      const parsed = parsePhoneNumberWithError(input);
      if (!parsed.isValid()) {
        c.addIssue({
          code: 'custom',
          message: `is not a valid number in ${parsed.country ?? `+${parsed.countryCallingCode}`}`,
        });
        return z.NEVER;
      }
      return parsed.number as string;
    } catch (e) {
      c.addIssue({ code: 'custom', message: PHONE_ERRORS[(e as Error).message] ?? 'is not a valid phone number' });
      return z.NEVER;
    }
  })
  .describe('E.164 (`+48601234567`); spaces and a leading 00 are accepted');

const GatewayId = z
  .union(
    [
      z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
      z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    ],
    {
      error: 'is required: the gateway’s id, a string (or an integer below 2^53)',
    },
  )
  .transform(String);

export const GatewayMessageEvent = z
  .object({
    type: z.literal('message'),
    id: GatewayId.describe('The gateway’s id of the incoming SMS: a retry with the same id is stored once'),
    from: GatewayPhone.describe('The client’s number, E.164'),
    to: GatewayPhone.describe('Our number the SMS was sent to, E.164 (one of the project’s numbers)'),
    text: z
      .string({ error: 'is required: the text of the SMS (concatenated parts joined)' })
      .max(40_000, 'must be at most 40000 characters'),
    receivedAt: z
      .union([z.iso.datetime({ offset: true }), z.null()], {
        error: 'must be an ISO 8601 time with a time zone, e.g. 2026-03-01T10:15:00Z',
      })
      .optional()
      .describe('When the gateway received it; absent: when we do'),
  })
  .describe('An SMS from a client');

export const GatewayStatusEvent = z
  .object({
    type: z.literal('status'),
    messageId: GatewayId.describe('The id the gateway answered our send request with'),
    status: z.enum(['delivered', 'failed'], { error: 'must be delivered or failed' }),
    error: z
      .string({ error: 'must be text' })
      .max(500, 'must be at most 500 characters')
      .nullable()
      .optional()
      .describe('Why it failed, shown to the manager'),
  })
  .describe('A delivery report for an SMS we sent');

export const GatewayBatch = z
  .object({
    events: z
      .array(z.union([GatewayMessageEvent, GatewayStatusEvent]))
      .min(1)
      .max(MAX_BATCH),
  })
  .describe(`Up to ${MAX_BATCH} events, stored in order`);

/** The body of a callback, for the OpenAPI document. */
export const GatewayCallback = z.union([GatewayMessageEvent, GatewayStatusEvent, GatewayBatch]);

/** One parsed event; a message keeps its receiving number (and where it stood) for the number check. */
export type GatewayEvent =
  | { kind: 'message'; to: string; field: string; event: InboundMessageEvent }
  | { kind: 'receipt'; event: InboundReceiptEvent }
  | { kind: 'ignored'; type: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses a verified callback body; throws ValidationError naming every bad field. */
export function parse(rawBody: Buffer, now: number): GatewayEvent[] {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new ValidationError([{ field: 'body', message: 'is not JSON' }]);
  }
  if (!isObj(body)) throw new ValidationError([{ field: 'body', message: 'must be a JSON object' }]);

  let items: { value: unknown; at: string }[];
  if ('events' in body && !('type' in body)) {
    const list = body.events;
    if (!Array.isArray(list)) throw new ValidationError([{ field: 'body.events', message: 'must be an array' }]);
    if (list.length === 0 || list.length > MAX_BATCH) {
      throw new ValidationError([{ field: 'body.events', message: `must hold 1 to ${MAX_BATCH} events` }]);
    }
    items = list.map((value, i) => ({ value, at: `body.events.${i}` }));
  } else {
    items = [{ value: body, at: 'body' }];
  }

  const issues: FieldIssue[] = [];
  const events: GatewayEvent[] = [];
  for (const { value, at } of items) {
    if (!isObj(value)) {
      issues.push({ field: at, message: 'must be an object' });
      continue;
    }
    if (typeof value.type !== 'string' || value.type === '') {
      issues.push({ field: `${at}.type`, message: 'is required: message or status' });
      continue;
    }
    if (value.type === 'message') {
      const r = GatewayMessageEvent.safeParse(value);
      if (!r.success) {
        issues.push(...fieldIssues(r.error, at));
        continue;
      }
      const m = r.data;
      events.push({
        kind: 'message',
        to: m.to,
        field: `${at}.to`,
        event: {
          kind: 'message',
          platformMessageId: `${INBOUND_ID_PREFIX}${m.id}`,
          externalUserId: m.from,
          phone: m.from,
          text: m.text,
          sentAt: m.receivedAt ? Date.parse(m.receivedAt) : now,
        },
      });
    } else if (value.type === 'status') {
      const r = GatewayStatusEvent.safeParse(value);
      if (!r.success) {
        issues.push(...fieldIssues(r.error, at));
        continue;
      }
      const s = r.data;
      events.push({
        kind: 'receipt',
        event: {
          kind: 'receipt',
          platformMessageId: s.messageId,
          status: s.status,
          ...(s.status === 'failed' ? { failureReason: s.error?.trim() || 'failed' } : {}),
        },
      });
    } else {
      events.push({ kind: 'ignored', type: value.type.slice(0, 40) });
    }
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return events;
}

function fieldIssues(error: z.ZodError, at: string): FieldIssue[] {
  return error.issues.map((i) => ({ field: [at, ...i.path.map(String)].join('.'), message: i.message }));
}
