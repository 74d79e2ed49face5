import { randomBytes } from 'node:crypto';
import { verify as argonVerify } from '@node-rs/argon2';
import { z } from 'zod';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  NotFoundError,
  UnauthenticatedError,
  invalid,
} from '../core/errors.js';
import { writeAudit } from '../store/audit.js';
import type { Role } from '../store/types.js';
import { Email, hashPassword, Password, sha256 } from './accounts.js';
import { audit } from './audit.js';
import type { AppContext, ProjectContext } from './context.js';
import { parseInput } from '../core/validate.js';

/**
 * Invitations by link (issue 4 §4): an admin invites an email with a role; the link works once, for
 * seven days. Whoever opens it sees the project, the email and the role, and accepts with a name and
 * a password — a new account, or, for an email that already has one, that account's password (the
 * link alone must not be a way into someone's account). Accepting signs them in like login does.
 *
 * The token is `dzi_<projectId>_<secret>`: the project id routes the lookup to one project's rows
 * (as API tokens do) and only the SHA-256 of the whole token is stored.
 */

export const INVITE_TTL_MS = 7 * 24 * 3600 * 1000;
const TOKEN_RE = /^dzi_(\d{1,15})_([A-Za-z0-9_-]{40,60})$/;
export const ROLES = ['admin', 'supervisor', 'manager'] as const;

const PersonName = z
  .string({ error: 'must be text' })
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters');

export const CreateInviteInput = z.strictObject({
  email: z.string({ error: 'is required: the email of the person you invite' }).pipe(Email),
  role: z.enum(ROLES, { error: 'must be admin, supervisor or manager' }),
  name: PersonName.optional().describe('Suggested display name; the invitee may change it'),
});
export type CreateInviteInput = z.input<typeof CreateInviteInput>;

export const AcceptInviteInput = z.strictObject({
  name: PersonName.optional().describe('Required for a new account (unless the invite names the person)'),
  password: z
    .string({ error: 'is required' })
    .min(1, 'is required')
    .max(1024)
    .describe('A new password (at least 10 characters), or the existing account’s password'),
});
export type AcceptInviteInput = z.input<typeof AcceptInviteInput>;

const instant = z.string().describe('ISO 8601 instant (UTC)');

export const CreatedInviteSchema = z.object({
  id: z.number().int(),
  email: z.string(),
  role: z.enum(ROLES),
  name: z.string().nullable(),
  token: z.string().describe('Shown once; only its hash is stored'),
  url: z.string().describe('PUBLIC_URL/invite/<token>'),
  expiresAt: instant,
});

export const InviteSchema = z.object({
  id: z.number().int(),
  email: z.string(),
  role: z.enum(ROLES),
  name: z.string().nullable(),
  status: z.enum(['pending', 'expired', 'accepted', 'revoked']),
  createdAt: instant,
  createdBy: z.string().nullable(),
  expiresAt: instant,
  acceptedAt: instant.nullable(),
});
export type InviteView = z.infer<typeof InviteSchema>;

export const PublicInviteSchema = z.object({
  projectName: z.string(),
  email: z.string(),
  role: z.enum(ROLES),
  name: z.string().nullable(),
  expiresAt: instant,
  existingAccount: z.boolean().describe('true: accept with that account’s password; false: choose one'),
});

const iso = (ms: number) => new Date(ms).toISOString();

function inviteStatus(
  row: { accepted_at: number | null; revoked_at: number | null; expires_at: number },
  now: number,
): InviteView['status'] {
  if (row.accepted_at !== null) return 'accepted';
  if (row.revoked_at !== null) return 'revoked';
  return row.expires_at <= now ? 'expired' : 'pending';
}

export async function createInvite(ctx: ProjectContext, raw: unknown): Promise<z.infer<typeof CreatedInviteSchema>> {
  const input = parseInput(CreateInviteInput, raw, 'body');
  const p = ctx.project.id;
  const member = await ctx.store.db
    .selectFrom('memberships')
    .innerJoin('users', 'users.id', 'memberships.user_id')
    .select(['users.name', 'memberships.role'])
    .where('memberships.project_id', '=', p)
    .where('users.email', '=', input.email)
    .executeTakeFirst();
  if (member) {
    throw new ConflictError(
      `${input.email} is already a member of this project (${member.role}); change their role in the list instead`,
    );
  }
  const token = `dzi_${p}_${randomBytes(32).toString('base64url')}`;
  const now = ctx.clock();
  const expiresAt = now + INVITE_TTL_MS;
  const actor = ctx.actor;
  const row = await ctx.store.db.transaction().execute(async (trx) => {
    // A new link for the same person replaces the ones still open: only the latest works.
    await trx
      .updateTable('invites')
      .set({ revoked_at: now })
      .where('project_id', '=', p)
      .where('email', '=', input.email)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .execute();
    const created = await trx
      .insertInto('invites')
      .values({
        project_id: p,
        email: input.email,
        name: input.name ?? null,
        role: input.role,
        token_hash: sha256(token),
        created_by: actor.type === 'user' ? actor.id : null,
        created_by_name: actor.name,
        created_at: now,
        expires_at: expiresAt,
      })
      .returning(['id', 'email', 'role', 'name'])
      .executeTakeFirstOrThrow();
    await audit(
      ctx,
      trx,
      'user.invite',
      { type: 'invite', id: created.id },
      { email: created.email, role: created.role },
    );
    return created;
  });
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    name: row.name,
    token,
    url: `${ctx.config.publicUrl}/invite/${token}`,
    expiresAt: iso(expiresAt),
  };
}

/** Open and recently closed invitations (accepted ones are in the member list), newest first. */
export async function listInvites(ctx: ProjectContext): Promise<{ items: InviteView[] }> {
  const now = ctx.clock();
  const rows = await ctx.store.db
    .selectFrom('invites')
    .selectAll()
    .where('project_id', '=', ctx.project.id)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    // Expired ones stay listed for another week, so that an admin sees why a link stopped working.
    .where('expires_at', '>', now - INVITE_TTL_MS)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(200)
    .execute();
  return {
    items: rows.map((r) => ({
      id: r.id,
      email: r.email,
      role: r.role,
      name: r.name,
      status: inviteStatus(r, now),
      createdAt: iso(r.created_at),
      createdBy: r.created_by_name,
      expiresAt: iso(r.expires_at),
      acceptedAt: r.accepted_at === null ? null : iso(r.accepted_at),
    })),
  };
}

export async function revokeInvite(ctx: ProjectContext, id: number): Promise<void> {
  const now = ctx.clock();
  await ctx.store.db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('invites')
      .select(['id', 'email', 'accepted_at', 'revoked_at'])
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Invitation');
    if (row.accepted_at !== null)
      throw new ConflictError('This invitation was already accepted; disable the member instead');
    if (row.revoked_at !== null) return;
    await trx
      .updateTable('invites')
      .set({ revoked_at: now })
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', id)
      .execute();
    await audit(ctx, trx, 'user.invite.revoke', { type: 'invite', id }, { email: row.email });
  });
}

// ---------------------------------------------------------------------------------------------
// The public side: whoever holds the link.

async function findByToken(ctx: AppContext, token: string) {
  const m = TOKEN_RE.exec(token);
  if (!m) throw new NotFoundError('Invitation');
  const projectId = Number(m[1]);
  const row = await ctx.store.db
    .selectFrom('invites')
    .innerJoin('projects', 'projects.id', 'invites.project_id')
    .select([
      'invites.project_id',
      'invites.id',
      'invites.email',
      'invites.name',
      'invites.role',
      'invites.expires_at',
      'invites.accepted_at',
      'invites.revoked_at',
      'projects.name as project_name',
    ])
    .where('invites.project_id', '=', projectId)
    .where('invites.token_hash', '=', sha256(token))
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Invitation');
  return row;
}

function assertUsable(row: { accepted_at: number | null; revoked_at: number | null; expires_at: number }, now: number) {
  const status = inviteStatus(row, now);
  if (status === 'accepted') throw new GoneError('This invitation has already been used; sign in instead');
  if (status === 'revoked') throw new GoneError('This invitation was withdrawn; ask the admin for a new one');
  if (status === 'expired') throw new GoneError('This invitation has expired; ask the admin for a new one');
}

/** What the invitation page shows: 404 for an unknown link, 410 for a used, withdrawn or expired one. */
export async function lookupInvite(ctx: AppContext, token: string): Promise<z.infer<typeof PublicInviteSchema>> {
  const row = await findByToken(ctx, token);
  assertUsable(row, ctx.clock());
  const user = await ctx.store.db
    .selectFrom('users')
    .select(['password_hash'])
    .where('email', '=', row.email)
    .executeTakeFirst();
  return {
    projectName: row.project_name,
    email: row.email,
    role: row.role,
    name: row.name,
    expiresAt: iso(row.expires_at),
    existingAccount: Boolean(user?.password_hash),
  };
}

export interface AcceptedInvite {
  userId: number;
  projectId: number;
  role: Role;
  created: boolean;
}

/**
 * Accepts an invitation: creates the account (or checks an existing account's password), makes it a
 * member with the invited role, and uses the invitation up — all in one transaction, so a link
 * accepted twice at once makes one member and one 410.
 */
export async function acceptInvite(ctx: AppContext, token: string, raw: unknown, ip?: string): Promise<AcceptedInvite> {
  const input = parseInput(AcceptInviteInput, raw, 'body');
  const invite = await findByToken(ctx, token);
  assertUsable(invite, ctx.clock());
  const existing = await ctx.store.db
    .selectFrom('users')
    .selectAll()
    .where('email', '=', invite.email)
    .executeTakeFirst();

  let passwordHash: string | null = null;
  let name: string | null = null;
  if (existing?.password_hash) {
    const ok = await argonVerify(existing.password_hash, input.password).catch(() => false);
    if (!ok) {
      throw new UnauthenticatedError(
        `${invite.email} already has an account: enter its password (or ask the admin to invite another email)`,
      );
    }
    if (existing.disabled) throw new ForbiddenError('This account is disabled on this installation');
  } else {
    const pw = Password.safeParse(input.password);
    if (!pw.success) throw invalid('body.password', pw.error.issues[0]?.message ?? 'is invalid');
    name = input.name ?? invite.name;
    if (!name) throw invalid('body.name', 'is required: how colleagues and clients will see you');
    passwordHash = await hashPassword(pw.data);
  }

  const now = ctx.clock();
  const p = invite.project_id;
  try {
    return await ctx.store.db.transaction().execute(async (trx) => {
      let userId: number;
      let created = false;
      if (existing) {
        userId = existing.id;
        if (passwordHash) {
          // An account without a password yet (never signed in): this sets it.
          await trx
            .updateTable('users')
            .set({ password_hash: passwordHash, name: name ?? existing.name })
            .where('id', '=', userId)
            .where('password_hash', 'is', null)
            .execute();
        }
      } else {
        const user = await trx
          .insertInto('users')
          .values({ email: invite.email, name: name!, password_hash: passwordHash, locale: null, created_at: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        userId = user.id;
        created = true;
      }
      const used = await trx
        .updateTable('invites')
        .set({ accepted_at: now, accepted_by: userId })
        .where('project_id', '=', p)
        .where('id', '=', invite.id)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1)
        throw new GoneError('This invitation has already been used; sign in instead');

      // Invited again after being disabled: the invitation enables them, with the invited role.
      await trx.deleteFrom('disabled_memberships').where('project_id', '=', p).where('user_id', '=', userId).execute();
      const member = await trx
        .selectFrom('memberships')
        .select('role')
        .where('project_id', '=', p)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      // Already a member (two invitations, or added meanwhile): the role they have stays.
      const role = member?.role ?? invite.role;
      if (!member) {
        await trx.insertInto('memberships').values({ project_id: p, user_id: userId, role, created_at: now }).execute();
      }
      await writeAudit(trx, {
        projectId: p,
        actorType: 'user',
        actorId: userId,
        actorName: name ?? existing?.name ?? invite.email,
        action: 'user.invite.accept',
        targetType: 'invite',
        targetId: String(invite.id),
        details: { email: invite.email, role, newAccount: created },
        ip,
        at: now,
      });
      return { userId, projectId: p, role, created };
    });
  } catch (e) {
    // Two invitations for one new email accepted at the same moment: the unique email decides.
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505') {
      throw new ConflictError(`An account for ${invite.email} was just created; open the link again`);
    }
    throw e;
  }
}
