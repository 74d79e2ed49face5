import { type Selectable, sql, type Transaction } from 'kysely';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { z } from 'zod';
import { MESSENGER_MAX_TEXT } from '../channels/messenger/api.js';
import { messengerTag } from '../channels/messenger/sender.js';
import { TELEGRAM_MAX_TEXT } from '../channels/telegram/api.js';
import { VIBER_MAX_TEXT } from '../channels/viber/api.js';
import { InvalidStateError, invalid, NotFoundError } from '../core/errors.js';
import { sortKey } from '../core/log-query.js';
import { analyzeSms } from '../core/sms.js';
import type { DomainEvent } from '../realtime/bus.js';
import { type ChannelRow, findChannelById } from '../store/channels.js';
import { addDialogManager, lastInboundAt } from '../store/dialogs.js';
import { isUniqueViolation } from '../store/errors.js';
import type { ClientIdentitiesTable, Database } from '../store/types.js';
import { audit } from './audit.js';
import { manualDistributionRefusal, requireOwnOrUnassigned, unassignedWaitsForSupervisor } from './distribution.js';
import { projectServices, serviceOfChannel } from './service-switches.js';
import { actorUserId, type ProjectContext } from './context.js';
import { dialogDto, messageDto } from './dto.js';
import { loadVisibleDialog } from './get-dialog.js';
import { numberIsOutboundOnly, outboundOnlyPrefixes } from './numbers.js';
import { findIdempotent, type IdempotencyRequest, type IdempotentResult, recordIdempotent } from './idempotency.js';
import { recordWebhookEvents } from './webhooks.js';

/**
 * Writing to a client (SPEC §4.2, issue 3 §4): a reply in a dialog, or a new dialog started by us.
 * The message (status `queued`), its outbox row and the dialog's denormalised fields are written
 * in one transaction; the outbox worker (outbox-worker.ts) delivers it. What can never be sent is
 * refused here, before anything is written: a closed dialog, a removed channel, a client who
 * blocked the bot or unsubscribed, Messenger more than 7 days after the person last wrote, a text
 * the platform would refuse.
 */

/** SMS: at most this many parts per message (operators bill each; 10 parts is 1,530 GSM characters). */
export const SMS_MAX_PARTS = 10;

const Text = z
  .string({ error: 'must be text' })
  .max(10_000, 'must be at most 10,000 characters')
  .refine((t) => t.trim().length > 0, 'must not be empty')
  .describe('The message as the client will see it (plain text)');

export const ReplyInput = z.strictObject({ text: Text });
export type ReplyInput = z.infer<typeof ReplyInput>;

export const StartDialogInput = z.strictObject({
  channelId: z.number({ error: 'must be a channel id' }).int().positive(),
  to: z
    .string({ error: 'must be text' })
    .trim()
    .min(1, 'is required')
    .max(64, 'must be at most 64 characters')
    .describe('SMS: the phone number (E.164, or national Polish); messengers: the person’s id on the channel'),
  text: Text,
  numberId: z.number({ error: 'must be a number id' }).int().positive().optional().describe('SMS: the sending number'),
});
export type StartDialogInput = z.infer<typeof StartDialogInput>;

type Trx = Transaction<Database>;
type IdentityRow = Selectable<ClientIdentitiesTable>;

/** How a sending request is made idempotent (services/idempotency.ts); `onReplay` hears that it was a repeat. */
export interface SendOptions {
  idempotency?: IdempotencyRequest | undefined;
  onReplay?: () => void;
}

/**
 * Runs a sending transaction under an idempotency key: an earlier request with the key answers
 * instead (checked first, before the request's own checks: a dialog closed since still answers
 * with the message the first request created); a request racing another with the same key loses
 * its whole transaction and answers with the winner's.
 */
async function idempotently<T>(
  ctx: ProjectContext,
  opts: SendOptions,
  replay: (earlier: IdempotentResult) => Promise<T>,
  send: () => Promise<T>,
): Promise<T> {
  const idem = opts.idempotency;
  const answer = async (earlier: IdempotentResult) => {
    opts.onReplay?.();
    return replay(earlier);
  };
  if (idem) {
    const earlier = await findIdempotent(ctx, idem);
    if (earlier) return answer(earlier);
  }
  try {
    return await send();
  } catch (e) {
    // Lost a race with the same key (its insert failed, or something before it did, such as the
    // new client's identity): the winner's result answers, once it has committed.
    if (idem) {
      const earlier = await findIdempotent(ctx, idem);
      if (earlier) return answer(earlier);
    }
    throw e;
  }
}

async function messageOf(ctx: ProjectContext, messageId: number) {
  return ctx.store.db
    .selectFrom('messages')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .where('id', '=', messageId)
    .executeTakeFirstOrThrow();
}

/** Replies in a dialog: the responsible manager, anyone on an unassigned dialog (who takes it), or a supervisor. */
export async function replyToDialog(ctx: ProjectContext, id: number, input: ReplyInput, opts: SendOptions = {}) {
  return idempotently(
    ctx,
    opts,
    async (earlier) => messageDto(await messageOf(ctx, earlier.messageId)),
    () => reply(ctx, id, input, opts.idempotency),
  );
}

async function reply(ctx: ProjectContext, id: number, input: ReplyInput, idem: IdempotencyRequest | undefined) {
  const d = await loadVisibleDialog(ctx, id);
  await requireOwnOrUnassigned(ctx, d, 'answer');
  if (d.status === 'closed') {
    throw new InvalidStateError('The dialog is closed: reopen it, or start a new dialog with the client');
  }
  const channel = await sendableChannel(ctx, d.channel_id);
  const identity = await loadIdentity(ctx, d.identity_id);
  await refuseUnsendable(ctx, channel, identity, input.text, 'body.text');

  const published: DomainEvent[] = [];
  const message = await ctx.store.db.transaction().execute(async (trx) => {
    // The dialog row first: its lock orders concurrent replies, so message ids and outbox ids
    // (the delivery order) follow the same order.
    await touchDialog(ctx, trx, d.id, { assignIfUnassigned: true });
    const m = await queueMessage(ctx, trx, d.id, channel.id, input.text);
    if (idem) await recordIdempotent(trx, ctx, idem, { dialogId: d.id, messageId: m.id, dialogCreated: false });
    published.push({ type: 'message.created', projectId: ctx.project.id, dialogId: d.id, messageId: m.id });
    published.push({ type: 'dialog.updated', projectId: ctx.project.id, dialogId: d.id });
    published.push({ type: 'outbox.pending', projectId: ctx.project.id });
    await recordWebhookEvents(trx, ctx, published);
    return m;
  });
  for (const e of published) ctx.bus.publish(e);
  return messageDto(message);
}

/**
 * Starts a dialog (SPEC §7 `POST .../dialogs`). SMS: to any phone number, from one of the
 * channel's SMS numbers. Messengers let a business write only to people who wrote to it first, so
 * `to` must be someone already known on the channel. A client with an open dialog on the channel
 * gets the message there (one open dialog per client identity, R7).
 */
export async function startDialog(ctx: ProjectContext, input: StartDialogInput, opts: SendOptions = {}) {
  return idempotently(
    ctx,
    opts,
    async (earlier) => ({
      created: earlier.dialogCreated,
      dialog: dialogDto(await loadVisibleDialog(ctx, earlier.dialogId)),
      message: messageDto(await messageOf(ctx, earlier.messageId)),
    }),
    () => start(ctx, input, opts.idempotency),
  );
}

async function start(ctx: ProjectContext, input: StartDialogInput, idem: IdempotencyRequest | undefined) {
  const channel = await sendableChannel(ctx, input.channelId, 'body.channelId');
  const sms = channel.type === 'sms' || channel.type === 'sms-http';
  const now = ctx.clock();
  const me = actorUserId(ctx.actor);

  let number: { id: number; e164: string; outboundOnly: boolean } | null = null;
  let externalId: string;
  if (sms) {
    number = await pickNumber(ctx, channel, input.numberId);
    const phone = parsePhoneNumberFromString(input.to, 'PL');
    if (!phone?.isValid()) throw invalid('body.to', 'must be a valid phone number, e.g. +48 601 234 567');
    externalId = phone.number;
  } else {
    if (input.numberId !== undefined) throw invalid('body.numberId', 'applies to SMS channels only');
    externalId = input.to;
  }

  let identity = await findIdentity(ctx, channel.id, externalId);
  if (!identity && !sms) {
    throw invalid(
      'body.to',
      'has not written to this channel yet: the platform lets a business write only to people who wrote first',
    );
  }
  if (identity) await refuseUnsendable(ctx, channel, identity, input.text, 'body.text');
  else refuseText(channel.type, input.text, 'body.text');

  // Read before the transaction: on SQLite a read outside it would wait for it.
  const manualOnly = await unassignedWaitsForSupervisor(ctx);
  const published: DomainEvent[] = [];
  const result = await ctx.store.db.transaction().execute(async (trx) => {
    if (!identity) identity = await createSmsIdentity(trx, ctx, channel.id, externalId, now);
    const open = await trx
      .selectFrom('dialogs')
      .select(['id', 'manager_id'])
      .where('project_id', '=', ctx.project.id)
      .where('identity_id', '=', identity.id)
      .where('status', 'in', ['new', 'open'])
      .executeTakeFirst();
    let dialogId: number;
    let created = false;
    if (open) {
      // The client's open dialog waits for a supervisor to assign it (manual distribution).
      if (open.manager_id === null && manualOnly) throw manualDistributionRefusal('answer');
      dialogId = open.id;
    } else {
      const client = await trx
        .selectFrom('clients')
        .select(['name', 'phone'])
        .where('project_id', '=', ctx.project.id)
        .where('id', '=', identity.client_id)
        .executeTakeFirstOrThrow();
      const row = await trx
        .insertInto('dialogs')
        .values({
          project_id: ctx.project.id,
          channel_id: channel.id,
          channel_type: sms ? 'sms' : (channel.type as 'telegram' | 'viber' | 'messenger'),
          number_id: number?.id ?? null,
          outbound_only: number?.outboundOnly ? 1 : 0,
          client_id: identity.client_id,
          identity_id: identity.id,
          client_name: client.name,
          client_phone: client.phone,
          client_handle: identity.handle,
          client_external_id: identity.external_id,
          search_text: [client.name, client.phone, identity.handle].filter(Boolean).join(' ').toLowerCase(),
          status: me === null ? 'new' : 'open',
          manager_id: me,
          manager_name: me === null ? null : ctx.actor.name,
          manager_sort: sortKey(me === null ? null : ctx.actor.name),
          created_at: now,
          updated_at: now,
          closed_at: null,
          closed_by: null,
          closed_by_name: null,
          close_reason: null,
          last_message_at: null,
          last_direction: null,
          last_author_type: null,
          last_author_id: null,
          last_author_name: null,
          last_responder_type: null,
          last_responder_id: null,
          last_responder_name: null,
          first_message_at: null,
          first_response_at: null,
          first_response_seconds: null,
          messages_in: 0,
          messages_out: 0,
          unread_count: 0,
          visit_id: null,
          source: null,
          channel_group: null,
          utm_source: null,
          utm_medium: null,
          utm_campaign: null,
          utm_term: null,
          utm_content: null,
          referrer: null,
          landing_url: null,
          click_ids: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      dialogId = row.id;
      created = true;
      if (me !== null) {
        await addDialogManager(trx, { project_id: ctx.project.id, dialog_id: dialogId, user_id: me, assigned_at: now });
      }
    }
    await touchDialog(ctx, trx, dialogId, { assignIfUnassigned: true });
    const message = await queueMessage(ctx, trx, dialogId, channel.id, input.text);
    if (idem) await recordIdempotent(trx, ctx, idem, { dialogId, messageId: message.id, dialogCreated: created });
    await audit(ctx, trx, 'dialog.start', { type: 'dialog', id: dialogId }, { channelId: channel.id, created });
    published.push({ type: created ? 'dialog.created' : 'dialog.updated', projectId: ctx.project.id, dialogId });
    published.push({ type: 'message.created', projectId: ctx.project.id, dialogId, messageId: message.id });
    published.push({ type: 'outbox.pending', projectId: ctx.project.id });
    await recordWebhookEvents(trx, ctx, published);
    return { dialogId, created, message };
  });
  for (const e of published) ctx.bus.publish(e);
  const dialog = await loadVisibleDialog(ctx, result.dialogId);
  return { created: result.created, dialog: dialogDto(dialog), message: messageDto(result.message) };
}

async function sendableChannel(ctx: ProjectContext, channelId: number, field?: string): Promise<ChannelRow> {
  const row = await findChannelById(ctx.store, channelId);
  if (!row || row.project_id !== ctx.project.id) {
    if (field) throw invalid(field, 'is not a channel of this project');
    throw new NotFoundError('Channel');
  }
  if (row.enabled !== 1) throw new InvalidStateError(`The channel "${row.name}" is switched off or removed`);
  const services = await projectServices(ctx, ctx.project.id);
  if (!services.workspace)
    throw new InvalidStateError('The workspace is switched off for this project (Settings → Services)');
  const service = serviceOfChannel(row.type);
  if (!services[service]) {
    throw new InvalidStateError(
      `${service === 'sms' ? 'SMS is' : 'Messengers are'} switched off for this project (Settings → Services)`,
    );
  }
  return row;
}

async function loadIdentity(ctx: ProjectContext, identityId: number): Promise<IdentityRow> {
  return ctx.store.db
    .selectFrom('client_identities')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .where('id', '=', identityId)
    .executeTakeFirstOrThrow();
}

async function findIdentity(ctx: ProjectContext, channelId: number, externalId: string) {
  return ctx.store.db
    .selectFrom('client_identities')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .where('channel_id', '=', channelId)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
}

async function createSmsIdentity(trx: Trx, ctx: ProjectContext, channelId: number, e164: string, now: number) {
  const client = await trx
    .insertInto('clients')
    .values({ project_id: ctx.project.id, name: '', phone: e164, created_at: now, updated_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  try {
    return await trx
      .insertInto('client_identities')
      .values({
        project_id: ctx.project.id,
        client_id: client.id,
        channel_id: channelId,
        channel_type: 'sms',
        external_id: e164,
        display_name: '',
        handle: null,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (e) {
    if (isUniqueViolation(e)) throw new InvalidStateError('The client wrote at the same moment; try again');
    throw e;
  }
}

/** The SMS number to send from: the one asked for, or the channel's first SMS-enabled number. */
async function pickNumber(ctx: ProjectContext, channel: ChannelRow, numberId: number | undefined) {
  let q = ctx.store.db
    .selectFrom('numbers')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .where('channel_id', '=', channel.id);
  if (numberId !== undefined) q = q.where('id', '=', numberId);
  const rows = await q.orderBy('id').execute();
  const row = rows.find((r) => r.sms_enabled === 1);
  if (!row) {
    if (numberId !== undefined) {
      throw invalid('body.numberId', rows.length ? 'has SMS switched off' : 'is not a number of this channel');
    }
    throw invalid('body.channelId', 'has no number with SMS switched on');
  }
  const prefixes = await outboundOnlyPrefixes(ctx, ctx.project.id);
  return { id: row.id, e164: row.e164, outboundOnly: numberIsOutboundOnly(row, prefixes) };
}

/** Refuses, before anything is written, what the platform would never deliver. */
async function refuseUnsendable(
  ctx: ProjectContext,
  channel: ChannelRow,
  identity: IdentityRow,
  text: string,
  field: string,
) {
  if (identity.unreachable === 1) {
    throw new InvalidStateError(
      identity.unreachable_reason === 'unsubscribed'
        ? 'The client unsubscribed from this Viber account: nothing can be sent until they write again'
        : 'The client blocked the bot: nothing can be sent until they unblock it',
    );
  }
  if (channel.type === 'messenger') {
    const last = await lastInboundAt(ctx.store, identity.id, ctx.project.id);
    if (messengerTag(last, ctx.clock()) === 'closed') {
      throw new InvalidStateError(
        'Messenger allows answers only within 7 days of the person’s last message (24 hours, then the HUMAN_AGENT tag)',
      );
    }
  }
  refuseText(channel.type, text, field);
}

function refuseText(type: ChannelRow['type'], text: string, field: string) {
  const limit =
    type === 'telegram'
      ? TELEGRAM_MAX_TEXT
      : type === 'viber'
        ? VIBER_MAX_TEXT
        : type === 'messenger'
          ? MESSENGER_MAX_TEXT
          : 0;
  if (limit && text.length > limit) throw invalid(field, `must be at most ${limit} characters on ${type}`);
  if (type === 'sms' || type === 'sms-http') {
    const a = analyzeSms(text);
    if (a.segments > SMS_MAX_PARTS) {
      throw invalid(
        field,
        `is ${a.segments} SMS parts (${a.encoding === 'ucs2' ? 'UCS-2' : 'GSM'}); at most ${SMS_MAX_PARTS}`,
      );
    }
  }
}

async function queueMessage(ctx: ProjectContext, trx: Trx, dialogId: number, channelId: number, text: string) {
  const now = ctx.clock();
  const message = await trx
    .insertInto('messages')
    .values({
      project_id: ctx.project.id,
      dialog_id: dialogId,
      channel_id: channelId,
      direction: 'out',
      author_type: 'manager',
      author_id: actorUserId(ctx.actor),
      author_name: ctx.actor.name,
      text,
      attachments: null,
      created_at: now,
      status: 'queued',
      failure_reason: null,
      platform_message_id: null,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('outbox')
    .values({
      project_id: ctx.project.id,
      kind: 'message',
      dialog_id: dialogId,
      message_id: message.id,
      payload: '{}',
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      locked_until: null,
      locked_by: null,
      last_error: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return message;
}

/**
 * The dialog's denormalised fields after a manager's message: last message and responder, the
 * first response time (from the client's first message), counters. An unassigned dialog is taken
 * by the user who answers (SPEC §4.3: the first to answer takes it). The UPDATE re-checks that the
 * dialog is still open, so a reply racing a close fails instead of landing in a closed dialog.
 */
async function touchDialog(ctx: ProjectContext, trx: Trx, dialogId: number, opts: { assignIfUnassigned: boolean }) {
  const now = ctx.clock();
  const me = actorUserId(ctx.actor);
  const name = ctx.actor.name;
  const firstResponse = sql<boolean>`first_response_at IS NULL AND first_message_at IS NOT NULL`;
  const res = await trx
    .updateTable('dialogs')
    .set((eb) => ({
      last_message_at: now,
      last_direction: 'out',
      last_author_type: 'manager',
      last_author_id: me,
      last_author_name: name,
      last_responder_type: 'manager',
      last_responder_id: me,
      last_responder_name: name,
      first_response_seconds: sql<
        number | null
      >`CASE WHEN ${firstResponse} THEN (${now} - first_message_at) / 1000 ELSE first_response_seconds END`,
      first_response_at: sql<number | null>`CASE WHEN ${firstResponse} THEN ${now} ELSE first_response_at END`,
      messages_out: eb('messages_out', '+', 1),
      unread_count: 0,
      updated_at: now,
    }))
    .where('project_id', '=', ctx.project.id)
    .where('id', '=', dialogId)
    .where('status', 'in', ['new', 'open'])
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) throw new InvalidStateError('The dialog was closed meanwhile; reload it');
  if (!opts.assignIfUnassigned || me === null) return;
  const taken = await trx
    .updateTable('dialogs')
    .set({ manager_id: me, manager_name: name, manager_sort: sortKey(name), status: 'open' })
    .where('project_id', '=', ctx.project.id)
    .where('id', '=', dialogId)
    .where('manager_id', 'is', null)
    .executeTakeFirst();
  if (Number(taken.numUpdatedRows) === 1) {
    await addDialogManager(trx, { project_id: ctx.project.id, dialog_id: dialogId, user_id: me, assigned_at: now });
  }
}
