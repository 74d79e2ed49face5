import { z } from 'zod';

/** Response shapes (SPEC §7), for the OpenAPI document. The DTO functions in services/dto.ts produce them. */
const id = z.number().int();
const instant = z.string().describe('ISO 8601 instant (UTC)');

export const DialogSchema = z.object({
  id,
  status: z.enum(['new', 'open', 'closed']),
  channel: z.enum(['sms', 'telegram', 'viber', 'messenger']),
  channelId: id,
  createdAt: instant,
  closedAt: instant.nullable(),
  closedBy: z.object({ id: id.nullable(), name: z.string().nullable() }).nullable(),
  closeReason: z.string().nullable(),
  client: z.object({ id, name: z.string(), phone: z.string().nullable(), handle: z.string().nullable() }),
  manager: z.object({ id, name: z.string().nullable() }).nullable(),
  lastResponder: z
    .object({ type: z.enum(['client', 'manager']), id: id.nullable(), name: z.string().nullable() })
    .nullable(),
  lastMessageAt: instant.nullable(),
  lastDirection: z.enum(['in', 'out']).nullable(),
  source: z
    .object({
      label: z.string().nullable(),
      utmSource: z.string().nullable(),
      utmMedium: z.string().nullable(),
      utmCampaign: z.string().nullable(),
      utmTerm: z.string().nullable(),
      utmContent: z.string().nullable(),
      referrer: z.string().nullable(),
      landingUrl: z.string().nullable(),
      channelGroup: z.string().nullable(),
      clickIds: z.string().nullable(),
    })
    .nullable(),
  canReply: z.boolean().describe('false when the client cannot answer (an outbound-only SMS number)'),
  senderLabel: z.string().nullable().describe('"SMS" when the dialog runs on an outbound-only number'),
  messageCounts: z.object({ in: z.number(), out: z.number() }),
  firstResponseSeconds: z.number().nullable(),
  unreadCount: z.number(),
});

/** One dialog (GET .../dialogs/{id}): the list's fields plus what the composer needs to warn. */
export const DialogDetailSchema = DialogSchema.extend({
  clientReachable: z
    .object({ reachable: z.boolean(), reason: z.enum(['blocked', 'unsubscribed']).nullable() })
    .describe(
      'Whether the client can still be written to on this channel (a blocked bot, an unsubscribed Viber client)',
    ),
  lastClientMessageAt: instant
    .nullable()
    .describe("The client's last message on this channel, any dialog (Messenger's 24-hour window runs from it)"),
  distributionMode: z
    .enum(['first_to_answer', 'round_robin', 'manual'])
    .describe("The project's distribution mode: with manual, a manager cannot answer or take an unassigned dialog"),
});

export const MessageSchema = z.object({
  id,
  dialogId: id,
  direction: z.enum(['in', 'out']),
  author: z.object({
    type: z.enum(['client', 'manager', 'auto', 'system']),
    id: id.nullable(),
    name: z.string().nullable(),
  }),
  text: z.string(),
  attachments: z.array(z.unknown()),
  createdAt: instant,
  status: z.enum(['queued', 'sent', 'delivered', 'read', 'failed']),
  failureReason: z.string().nullable(),
});

export const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null at the end'),
  });
