import { z } from 'zod';
import { ConflictError, NotFoundError } from '../core/errors.js';
import type { Db, Role } from '../store/types.js';
import { audit } from './audit.js';
import type { ProjectContext } from './context.js';
import { ROLES } from './invites.js';
import { parseInput } from '../core/validate.js';

/**
 * Members as an admin manages them (issue 4 §4): every member with email and role, disabled ones
 * too; a role change; disabling and enabling in this project.
 *
 * Disabling moves the membership into `disabled_memberships` (migration 006) and enabling moves it
 * back with its role: everything that reads `memberships` (authorization, the project list at
 * sign-in, transfer targets) then treats a disabled member as no member at all, with no change
 * there. Their dialogs keep their manager; a supervisor transfers them.
 *
 * A project always keeps an admin: a change that would leave none is a 409.
 */

export const UpdateMemberInput = z
  .strictObject({
    role: z.enum(ROLES, { error: 'must be admin, supervisor or manager' }).optional(),
    disabled: z
      .boolean({ error: 'must be true or false' })
      .optional()
      .describe('true: no access to this project any more (other projects are not affected); false: access again'),
  })
  .refine((v) => v.role !== undefined || v.disabled !== undefined, {
    message: 'give role or disabled',
    path: ['role'],
  });
export type UpdateMemberInput = z.input<typeof UpdateMemberInput>;

export const MemberSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  disabled: z.boolean().describe('Disabled in this project'),
  accountDisabled: z.boolean().describe('The account is disabled on the whole installation'),
  memberSince: z.string(),
  disabledAt: z.string().nullable(),
});
export type MemberView = z.infer<typeof MemberSchema>;

const iso = (ms: number) => new Date(ms).toISOString();

async function memberRows(db: Db, projectId: number, userId?: number) {
  let active = db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select([
      'users.id',
      'users.name',
      'users.email',
      'users.disabled as account_disabled',
      'memberships.role',
      'memberships.created_at',
    ])
    .where('memberships.project_id', '=', projectId);
  let disabled = db
    .selectFrom('disabled_memberships')
    .innerJoin('users', 'users.id', 'disabled_memberships.user_id')
    .select([
      'users.id',
      'users.name',
      'users.email',
      'users.disabled as account_disabled',
      'disabled_memberships.role',
      'disabled_memberships.created_at',
      'disabled_memberships.disabled_at',
    ])
    .where('disabled_memberships.project_id', '=', projectId);
  if (userId !== undefined) {
    active = active.where('memberships.user_id', '=', userId);
    disabled = disabled.where('disabled_memberships.user_id', '=', userId);
  }
  const [a, d] = await Promise.all([active.execute(), disabled.execute()]);
  const view = (r: (typeof a)[number], disabledAt: number | null): MemberView => ({
    id: r.id,
    name: r.name,
    email: r.email,
    role: r.role,
    disabled: disabledAt !== null,
    accountDisabled: r.account_disabled === 1,
    memberSince: iso(r.created_at),
    disabledAt: disabledAt === null ? null : iso(disabledAt),
  });
  return [...a.map((r) => view(r, null)), ...d.map((r) => view(r, r.disabled_at))];
}

/** Every member, active first, then by name. */
export async function listAllMembers(ctx: ProjectContext): Promise<{ items: MemberView[] }> {
  const rows = await memberRows(ctx.store.db, ctx.project.id);
  rows.sort((x, y) => Number(x.disabled) - Number(y.disabled) || x.name.localeCompare(y.name, 'pl') || x.id - y.id);
  return { items: rows };
}

export async function updateMember(ctx: ProjectContext, userId: number, raw: unknown): Promise<MemberView> {
  const input = parseInput(UpdateMemberInput, raw);
  const p = ctx.project.id;
  let changed = false;
  const view = await ctx.store.db.transaction().execute(async (trx) => {
    // Member changes of one project take turns (PostgreSQL; SQLite transactions already do), so two
    // admins demoting each other at once cannot leave the project without an admin.
    if (ctx.store.dialect === 'postgres') {
      await trx.selectFrom('projects').select('id').where('id', '=', p).forUpdate().executeTakeFirst();
    }
    const [current] = await memberRows(trx, p, userId);
    if (!current) throw new NotFoundError('User');
    const role: Role = input.role ?? current.role;
    const disabled = input.disabled ?? current.disabled;
    if (role === current.role && disabled === current.disabled) return current;

    const now = ctx.clock();
    if (current.disabled && !disabled) {
      const row = await trx
        .deleteFrom('disabled_memberships')
        .where('project_id', '=', p)
        .where('user_id', '=', userId)
        .returning('created_at')
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('memberships')
        .values({ project_id: p, user_id: userId, role, created_at: row.created_at })
        .execute();
    } else if (!current.disabled && disabled) {
      const row = await trx
        .deleteFrom('memberships')
        .where('project_id', '=', p)
        .where('user_id', '=', userId)
        .returning('created_at')
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('disabled_memberships')
        .values({
          project_id: p,
          user_id: userId,
          role,
          created_at: row.created_at,
          disabled_at: now,
          disabled_by: ctx.actor.type === 'user' ? ctx.actor.id : null,
        })
        .execute();
    } else {
      await trx
        .updateTable(disabled ? 'disabled_memberships' : 'memberships')
        .set({ role })
        .where('project_id', '=', p)
        .where('user_id', '=', userId)
        .execute();
    }

    const stepsDown = current.role === 'admin' && !current.disabled && (role !== 'admin' || disabled);
    const admins = !stepsDown
      ? [{ id: 0 }]
      : await trx
          .selectFrom('memberships')
          .innerJoin('users', 'users.id', 'memberships.user_id')
          .select('users.id')
          .where('memberships.project_id', '=', p)
          .where('memberships.role', '=', 'admin')
          .where('users.disabled', '=', 0)
          .limit(1)
          .execute();
    if (admins.length === 0) {
      const self = ctx.actor.type === 'user' && ctx.actor.id === userId;
      throw new ConflictError(
        `${self ? 'You are' : `${current.name} is`} the last admin of this project: make someone else admin first`,
      );
    }
    await audit(
      ctx,
      trx,
      'user.update',
      { type: 'user', id: userId },
      {
        email: current.email,
        ...(role !== current.role ? { role: { from: current.role, to: role } } : {}),
        ...(disabled !== current.disabled ? { disabled } : {}),
      },
    );
    changed = true;
    return {
      ...current,
      role,
      disabled,
      disabledAt: disabled ? (current.disabledAt ?? iso(now)) : null,
    };
  });
  // Open realtime streams of this project re-check their access (a disabled member's is closed).
  if (changed) ctx.bus.publish({ type: 'access.changed', projectId: p });
  return view;
}
