import { isValidPhoneNumber, type ParseError, parsePhoneNumberWithError } from 'libphonenumber-js';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import { ConflictError, NotFoundError, invalid } from '../core/errors.js';
import { isOutboundOnly } from '../core/sms.js';
import type { NumbersTable } from '../store/types.js';
import { audit } from './audit.js';
import type { AppContext, ProjectContext } from './context.js';
import { parseInput } from '../core/validate.js';

/**
 * Numbers of the SMS channels (SPEC R6, §7 "A number"). A number in the outbound-only range sends
 * with the alphanumeric originator "SMS" and cannot be answered: `outboundOnly` is the per-number
 * override when set, else whether the number starts with one of the project's outbound-only
 * prefixes (`projects.settings.smsOutboundOnlyPrefixes`, else SMS_OUTBOUND_ONLY_PREFIXES).
 */

export type NumberRow = Selectable<NumbersTable>;

const PHONE_ERRORS: Record<string, string> = {
  NOT_A_NUMBER: 'is not a phone number',
  INVALID_COUNTRY: 'must start with + and the country code, e.g. +48 601 234 567',
  TOO_SHORT: 'is too short for a phone number',
  TOO_LONG: 'is too long for a phone number',
  INVALID_LENGTH: 'has a length no number of that country has',
};

/** An international number in any common spelling (`+48 601 234 567`, `0048601234567`) → `+48601234567`. */
export const E164 = z
  .string({ error: 'is required: an international number such as +48 601 234 567' })
  .trim()
  .max(40, 'is too long for a phone number')
  .transform((value, c) => {
    const input = value.replace(/^00(?=[1-9])/, '+');
    try {
      const parsed = parsePhoneNumberWithError(input);
      if (!parsed.isValid() || !isValidPhoneNumber(input)) {
        c.addIssue({
          code: 'custom',
          message: `is not a valid number in ${parsed.country ?? `+${parsed.countryCallingCode}`}`,
        });
        return z.NEVER;
      }
      return parsed.number as string;
    } catch (e) {
      c.addIssue({ code: 'custom', message: PHONE_ERRORS[(e as ParseError).message] ?? 'is not a valid phone number' });
      return z.NEVER;
    }
  })
  .describe('E.164, stored normalised: +48601234567');

export const CreateNumberInput = z.strictObject({
  e164: E164,
  channelId: z.number({ error: 'must be the id of an SMS channel of this project' }).int().positive(),
  smsEnabled: z.boolean({ error: 'must be true or false' }).default(true),
  outboundOnly: z
    .boolean({ error: 'must be true, false or null' })
    .nullable()
    .optional()
    .describe('Override of the outbound-only prefixes for this number; null or absent follows the prefixes'),
});
export type CreateNumberInput = z.input<typeof CreateNumberInput>;

export const UpdateNumberInput = z.strictObject({
  smsEnabled: z.boolean({ error: 'must be true or false' }).optional(),
  outboundOnly: z
    .boolean({ error: 'must be true, false or null' })
    .nullable()
    .optional()
    .describe('true / false overrides the prefixes; null returns to them'),
});

export const ListNumbersQuery = z.strictObject({
  channelId: z.coerce
    .number({ error: 'must be a channel id' })
    .int('must be a channel id')
    .positive('must be a channel id')
    .optional(),
});

export const NumberSchema = z.object({
  id: z.number().int(),
  e164: z.string(),
  channelId: z.number().int(),
  smsEnabled: z.boolean(),
  outboundOnly: z.boolean().describe('Sends as "SMS"; the client cannot reply (R6)'),
  outboundOnlyOverride: z.boolean().nullable().describe('null: decided by the prefixes'),
  canReply: z.boolean().describe('!outboundOnly && smsEnabled'),
  senderLabel: z.string().describe('"SMS" for an outbound-only number, else the number'),
  createdAt: z.string(),
});
export type NumberView = z.infer<typeof NumberSchema>;

const PrefixList = z
  .array(
    z
      .string()
      .trim()
      .regex(/^\+?\d{1,15}$/),
  )
  .max(100);

/**
 * The project's outbound-only prefixes: `settings.smsOutboundOnlyPrefixes` (an array of digit
 * strings, or one comma-separated string; `[]` means none), else the installation's
 * SMS_OUTBOUND_ONLY_PREFIXES. A malformed setting falls back to the installation's, with a warning.
 */
export async function outboundOnlyPrefixes(ctx: AppContext, projectId: number): Promise<readonly string[]> {
  const row = await ctx.store.db
    .selectFrom('projects')
    .select('settings')
    .where('id', '=', projectId)
    .executeTakeFirst();
  let raw: unknown;
  try {
    raw = (JSON.parse(row?.settings || '{}') as Record<string, unknown>).smsOutboundOnlyPrefixes;
  } catch {
    raw = undefined;
  }
  if (raw === undefined || raw === null) return ctx.config.smsOutboundOnlyPrefixes;
  const list = typeof raw === 'string' ? raw.split(',').filter((p) => p.trim() !== '') : raw;
  const parsed = PrefixList.safeParse(list);
  if (!parsed.success) {
    ctx.log.warn(
      { projectId, smsOutboundOnlyPrefixes: raw },
      'malformed project setting smsOutboundOnlyPrefixes ignored',
    );
    return ctx.config.smsOutboundOnlyPrefixes;
  }
  return parsed.data.map((p) => p.replace(/^\+/, ''));
}

/** Whether a number sends as "SMS" only: its override, else the prefixes. */
export function numberIsOutboundOnly(row: Pick<NumberRow, 'e164' | 'outbound_only'>, prefixes: readonly string[]) {
  return row.outbound_only === null ? isOutboundOnly(row.e164, prefixes) : row.outbound_only === 1;
}

export function numberView(row: NumberRow, prefixes: readonly string[]): NumberView {
  const outboundOnly = numberIsOutboundOnly(row, prefixes);
  const smsEnabled = row.sms_enabled === 1;
  return {
    id: row.id,
    e164: row.e164,
    channelId: row.channel_id,
    smsEnabled,
    outboundOnly,
    outboundOnlyOverride: row.outbound_only === null ? null : row.outbound_only === 1,
    canReply: !outboundOnly && smsEnabled,
    senderLabel: outboundOnly ? 'SMS' : row.e164,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

const loadNumber = async (ctx: ProjectContext, id: number) => {
  const row = await ctx.store.db
    .selectFrom('numbers')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Number');
  return row;
};

/** Unique violation, by driver code: SQLite's extended code, PostgreSQL's SQLSTATE. */
function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

export async function listNumbers(ctx: ProjectContext, query: { channelId?: number } = {}) {
  let q = ctx.store.db.selectFrom('numbers').selectAll().where('project_id', '=', ctx.project.id);
  if (query.channelId !== undefined) q = q.where('channel_id', '=', query.channelId);
  const rows = await q.orderBy('e164').orderBy('id').execute();
  const prefixes = await outboundOnlyPrefixes(ctx, ctx.project.id);
  return { items: rows.map((r) => numberView(r, prefixes)) };
}

export async function createNumber(ctx: ProjectContext, raw: unknown): Promise<NumberView> {
  const input = parseInput(CreateNumberInput, raw, 'body');
  const channel = await ctx.store.db
    .selectFrom('channels')
    .select(['id', 'type', 'enabled', 'config'])
    .where('project_id', '=', ctx.project.id)
    .where('id', '=', input.channelId)
    .executeTakeFirst();
  // A foreign channel looks exactly like a missing one.
  if (!channel) throw invalid('body.channelId', `there is no channel ${input.channelId} in this project`);
  if (channel.type !== 'sms' && channel.type !== 'sms-http') {
    throw invalid('body.channelId', `is a ${channel.type} channel; numbers belong to SMS channels (sms or sms-http)`);
  }
  if (channel.enabled === 0 && (JSON.parse(channel.config || '{}') as { removedAt?: number }).removedAt !== undefined) {
    throw invalid('body.channelId', 'is a removed channel');
  }
  const taken = await ctx.store.db
    .selectFrom('numbers')
    .select(['id', 'channel_id'])
    .where('project_id', '=', ctx.project.id)
    .where('e164', '=', input.e164)
    .executeTakeFirst();
  if (taken) throw new ConflictError(`${input.e164} is already number ${taken.id} of channel ${taken.channel_id}`);
  try {
    const row = await ctx.store.db.transaction().execute(async (trx) => {
      const created = await trx
        .insertInto('numbers')
        .values({
          project_id: ctx.project.id,
          channel_id: channel.id,
          e164: input.e164,
          sms_enabled: input.smsEnabled ? 1 : 0,
          outbound_only:
            input.outboundOnly === undefined || input.outboundOnly === null ? null : input.outboundOnly ? 1 : 0,
          created_at: ctx.clock(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(
        ctx,
        trx,
        'number.create',
        { type: 'number', id: created.id },
        {
          e164: created.e164,
          channelId: created.channel_id,
        },
      );
      return created;
    });
    return numberView(row, await outboundOnlyPrefixes(ctx, ctx.project.id));
  } catch (e) {
    // Two admins adding the same number at once: the unique index decides.
    if (isUniqueViolation(e)) throw new ConflictError(`${input.e164} is already a number of this project`);
    throw e;
  }
}

export async function updateNumber(ctx: ProjectContext, id: number, raw: unknown): Promise<NumberView> {
  const patch = parseInput(UpdateNumberInput, raw, 'body');
  const row = await loadNumber(ctx, id);
  const next: Partial<Pick<NumberRow, 'sms_enabled' | 'outbound_only'>> = {};
  if (patch.smsEnabled !== undefined && (patch.smsEnabled ? 1 : 0) !== row.sms_enabled) {
    next.sms_enabled = patch.smsEnabled ? 1 : 0;
  }
  if (patch.outboundOnly !== undefined) {
    const value = patch.outboundOnly === null ? null : patch.outboundOnly ? 1 : 0;
    if (value !== row.outbound_only) next.outbound_only = value;
  }
  const prefixes = await outboundOnlyPrefixes(ctx, ctx.project.id);
  if (Object.keys(next).length === 0) return numberView(row, prefixes);
  await ctx.store.db.transaction().execute(async (trx) => {
    await trx.updateTable('numbers').set(next).where('project_id', '=', ctx.project.id).where('id', '=', id).execute();
    await audit(
      ctx,
      trx,
      'number.update',
      { type: 'number', id },
      {
        e164: row.e164,
        ...(next.sms_enabled !== undefined ? { smsEnabled: next.sms_enabled === 1 } : {}),
        ...(next.outbound_only !== undefined
          ? { outboundOnly: next.outbound_only === null ? null : next.outbound_only === 1 }
          : {}),
      },
    );
  });
  return numberView({ ...row, ...next }, prefixes);
}

export async function deleteNumber(ctx: ProjectContext, id: number): Promise<void> {
  const row = await loadNumber(ctx, id);
  await ctx.store.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('numbers').where('project_id', '=', ctx.project.id).where('id', '=', id).execute();
    await audit(ctx, trx, 'number.delete', { type: 'number', id }, { e164: row.e164, channelId: row.channel_id });
  });
}

/**
 * Whether an SMS sent to `e164` may come in on a channel (SPEC R6): a number that is outbound-only
 * (its override, else the project's prefixes) or has SMS switched off refuses inbound. A number of
 * this channel gives the dialog its `numberId`, so replies go out from it; a number we do not know
 * is accepted without one, unless the prefixes make it outbound-only. Pass `prefixes` when checking
 * many messages of one project.
 */
export async function resolveInboundNumber(
  ctx: AppContext,
  projectId: number,
  channelId: number,
  e164: string,
  prefixes?: readonly string[],
): Promise<{ ok: true; numberId: number | undefined } | { ok: false; message: string }> {
  const number = await ctx.store.db
    .selectFrom('numbers')
    .select(['id', 'channel_id', 'e164', 'sms_enabled', 'outbound_only'])
    .where('project_id', '=', projectId)
    .where('e164', '=', e164)
    .executeTakeFirst();
  const list = prefixes ?? (await outboundOnlyPrefixes(ctx, projectId));
  if (number && number.sms_enabled !== 1) return { ok: false, message: `SMS is disabled for the number ${e164}` };
  if (number ? numberIsOutboundOnly(number, list) : isOutboundOnly(e164, list)) {
    return { ok: false, message: `${e164} is an outbound-only number: it cannot receive SMS` };
  }
  return { ok: true, numberId: number && number.channel_id === channelId ? number.id : undefined };
}
