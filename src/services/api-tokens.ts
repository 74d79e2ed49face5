import { z } from 'zod';
import { NotFoundError } from '../core/errors.js';
import { createApiToken } from './accounts.js';
import { audit } from './audit.js';
import type { ProjectContext } from './context.js';
import { parseInput } from '../core/validate.js';

/**
 * API tokens of a project (SPEC §4.9): list, create (the token is answered once; only its SHA-256
 * is stored, by accounts.ts `createApiToken`), revoke. Every create and revoke is audited, and a
 * committed change publishes `tokens.changed`, which drops the token lookups a node may cache.
 *
 * Revoking is idempotent (a revoked token stays listed with `revokedAt`; revoking it again changes
 * nothing and answers the same). A token may revoke itself: that is the last step of rotating a
 * credential from the integration that holds it (create the new token, switch, revoke the old one),
 * and refusing it would only force the integration to keep a second admin credential around.
 */

export const ROLES = ['admin', 'supervisor', 'manager'] as const;

export const CreateTokenInput = z.strictObject({
  name: z
    .string({ error: 'is required: a name that says who uses the token' })
    .trim()
    .min(1, 'must not be empty')
    .max(100, 'must be at most 100 characters'),
  role: z.enum(ROLES, { error: 'must be admin, supervisor or manager' }),
});
export type CreateTokenInput = z.input<typeof CreateTokenInput>;

const instant = z.string().describe('ISO 8601 instant (UTC)');

export const ApiTokenSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: instant,
  createdBy: z
    .object({ id: z.number().int(), name: z.string() })
    .nullable()
    .describe('The member who created it; null when made by `dziennik token create` or by another token'),
  lastUsedAt: instant.nullable().describe('Updated at most once a minute'),
  revokedAt: instant.nullable(),
});
export type ApiTokenView = z.infer<typeof ApiTokenSchema>;

export const CreatedApiTokenSchema = ApiTokenSchema.extend({
  token: z.string().describe('`dz_<projectId>_<secret>`: shown once; only its hash is stored'),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function selectTokens(ctx: ProjectContext, db = ctx.store.db) {
  return db
    .selectFrom('api_tokens')
    .leftJoin('users', 'users.id', 'api_tokens.created_by')
    .select([
      'api_tokens.id',
      'api_tokens.name',
      'api_tokens.role',
      'api_tokens.created_at',
      'api_tokens.created_by',
      'api_tokens.last_used_at',
      'api_tokens.revoked_at',
      'users.name as created_by_name',
    ])
    .where('api_tokens.project_id', '=', ctx.project.id);
}

type TokenRow = Awaited<ReturnType<ReturnType<typeof selectTokens>['executeTakeFirstOrThrow']>>;

function toView(r: TokenRow): ApiTokenView {
  return {
    id: r.id,
    name: r.name,
    role: r.role,
    createdAt: iso(r.created_at)!,
    createdBy:
      r.created_by === null ? null : { id: r.created_by, name: r.created_by_name ?? `#${String(r.created_by)}` },
    lastUsedAt: iso(r.last_used_at),
    revokedAt: iso(r.revoked_at),
  };
}

/** The project's tokens, active ones first, newest first within each group; never a hash. */
export async function listApiTokens(ctx: ProjectContext): Promise<{ items: ApiTokenView[] }> {
  const rows = await selectTokens(ctx).orderBy('api_tokens.id', 'desc').execute();
  const items = rows.map(toView);
  items.sort((a, b) => Number(a.revokedAt !== null) - Number(b.revokedAt !== null));
  return { items };
}

export async function createProjectApiToken(
  ctx: ProjectContext,
  raw: unknown,
): Promise<z.infer<typeof CreatedApiTokenSchema>> {
  const input = parseInput(CreateTokenInput, raw, 'body');
  const actor = ctx.actor;
  const { row, token } = await ctx.store.db.transaction().execute(async (trx) => {
    // accounts.ts's createApiToken writes through the context's store: hand it the transaction,
    // so that the token and its audit entry commit together.
    const created = await createApiToken(
      { ...ctx, store: { ...ctx.store, db: trx } },
      {
        projectId: ctx.project.id,
        role: input.role,
        name: input.name,
        createdBy: actor.type === 'user' ? actor.id : null,
      },
    );
    await audit(
      ctx,
      trx,
      'token.create',
      { type: 'api_token', id: created.id },
      { name: input.name, role: input.role },
    );
    const row = await selectTokens(ctx, trx).where('api_tokens.id', '=', created.id).executeTakeFirstOrThrow();
    return { row, token: created.token };
  });
  ctx.bus.publish({ type: 'tokens.changed', projectId: ctx.project.id });
  return { ...toView(row), token };
}

/** Revokes a token of this project; a token of another project is a 404 like a missing one. */
export async function revokeApiToken(ctx: ProjectContext, id: number): Promise<void> {
  const now = ctx.clock();
  await ctx.store.db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('api_tokens')
      .select(['id', 'name', 'role', 'revoked_at'])
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('API token');
    if (row.revoked_at !== null) return;
    const updated = await trx
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where('project_id', '=', ctx.project.id)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    // A concurrent revoke got there first (PostgreSQL re-checks the condition after waiting).
    if (Number(updated.numUpdatedRows) === 0) return;
    await audit(ctx, trx, 'token.revoke', { type: 'api_token', id }, { name: row.name, role: row.role });
  });
  // After the commit: every node drops its cached lookups of this project's tokens. Published for a
  // repeated revoke too, so that revoking again re-sends an event a node may have missed.
  ctx.bus.publish({ type: 'tokens.changed', projectId: ctx.project.id });
}
