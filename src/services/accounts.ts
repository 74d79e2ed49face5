import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { z } from 'zod';
import { ConflictError, invalid, UnauthenticatedError } from '../core/errors.js';
import type { Store } from '../store/open.js';
import type { Role } from '../store/types.js';
import type { AppContext } from './context.js';

/** Accounts: argon2id passwords, server-side sessions, hashed API tokens. */

export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;
// @node-rs/argon2 defaults to argon2id (the test checks the `$argon2id$` prefix); OWASP's minimum parameters.
const ARGON = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');

export const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254)
  .regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'must be an email address');
export const Password = z.string().min(10, 'must be at least 10 characters').max(1024);

export const hashPassword = (password: string) => argonHash(password, ARGON);

// Verifying against a real hash even for an unknown email keeps both paths equally slow.
let dummyHash: Promise<string> | undefined;

export async function checkPassword(store: Store, email: string, password: string) {
  const user = await store.db
    .selectFrom('users')
    .selectAll()
    .where('email', '=', email.trim().toLowerCase())
    .executeTakeFirst();
  dummyHash ??= argonHash('not a password of anyone', ARGON);
  const stored = user?.password_hash ?? (await dummyHash);
  const ok = await argonVerify(stored, password).catch(() => false);
  if (!user?.password_hash || !ok || user.disabled) return undefined;
  return user;
}

export interface CreatedSession {
  token: string;
  csrfToken: string;
  expiresAt: number;
}

export async function createSession(ctx: AppContext, userId: number): Promise<CreatedSession> {
  const token = randomToken();
  const csrfToken = randomToken(24);
  const now = ctx.clock();
  const expiresAt = now + SESSION_TTL_MS;
  await ctx.store.db
    .insertInto('sessions')
    .values({
      id: sha256(token),
      user_id: userId,
      csrf_token: csrfToken,
      created_at: now,
      expires_at: expiresAt,
      last_seen_at: now,
    })
    .execute();
  return { token, csrfToken, expiresAt };
}

export interface SessionUser {
  sessionId: string;
  csrfToken: string;
  user: { id: number; email: string; name: string; locale: string | null };
}

/**
 * The session a cookie's token names, if it is still valid. `slide: false` checks without extending
 * it (an open realtime stream re-checking its access must not keep an idle tab signed in forever).
 */
export async function resolveSession(
  ctx: AppContext,
  token: string,
  opts: { slide?: boolean } = {},
): Promise<SessionUser | undefined> {
  const now = ctx.clock();
  const row = await ctx.store.db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'sessions.id as sid',
      'sessions.csrf_token',
      'sessions.expires_at',
      'sessions.last_seen_at',
      'users.id',
      'users.email',
      'users.name',
      'users.locale',
      'users.disabled',
    ])
    .where('sessions.id', '=', sha256(token))
    .executeTakeFirst();
  if (!row || row.expires_at <= now || row.disabled) return undefined;
  // Sliding expiry, written at most once an hour.
  if (opts.slide !== false && now - row.last_seen_at > 3600_000) {
    await ctx.store.db
      .updateTable('sessions')
      .set({ last_seen_at: now, expires_at: now + SESSION_TTL_MS })
      .where('id', '=', row.sid)
      .execute();
  }
  return {
    sessionId: row.sid,
    csrfToken: row.csrf_token,
    user: { id: row.id, email: row.email, name: row.name, locale: row.locale },
  };
}

export function csrfMatches(expected: string, got: string | undefined): boolean {
  if (!got) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(got);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function deleteSession(store: Store, sessionId: string) {
  await store.db.deleteFrom('sessions').where('id', '=', sessionId).execute();
}

export async function userProjects(store: Store, userId: number) {
  return store.db
    .selectFrom('memberships')
    .innerJoin('projects', 'projects.id', 'memberships.project_id')
    .select(['projects.id', 'projects.name', 'memberships.role', 'projects.time_zone as timeZone', 'projects.language'])
    .where('memberships.user_id', '=', userId)
    .orderBy('projects.id')
    .execute();
}

// API tokens look like `dz_<projectId>_<secret>`: the project id routes the lookup to one
// project's rows; only the secret's hash is stored.
const TOKEN_RE = /^dz_(\d{1,15})_([A-Za-z0-9_-]{20,100})$/;

export async function createApiToken(
  ctx: AppContext,
  input: { projectId: number; role: Role; name: string; createdBy: number | null },
): Promise<{ id: number; token: string }> {
  const project = await ctx.store.db
    .selectFrom('projects')
    .select('id')
    .where('id', '=', input.projectId)
    .executeTakeFirst();
  if (!project) throw invalid('projectId', `project ${input.projectId} does not exist`);
  const name = input.name.trim();
  if (!name || name.length > 100) throw invalid('name', 'must be 1–100 characters');
  const token = `dz_${input.projectId}_${randomToken()}`;
  const row = await ctx.store.db
    .insertInto('api_tokens')
    .values({
      project_id: input.projectId,
      name,
      role: input.role,
      token_hash: sha256(token),
      created_by: input.createdBy,
      created_at: ctx.clock(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, token };
}

/**
 * Token lookups as last read, per event bus (one per server), for a few seconds: an integration calling the API in a loop
 * costs one query per token every TOKEN_TTL_MS instead of one per request (a log page is a ~1 ms
 * query; the lookup was a third of its time). A revoke, or a change to the project's name, zone or
 * language, publishes `tokens.changed`, which drops that project's entries on every node at once
 * (PostgreSQL: through LISTEN/NOTIFY); `bus.resync` (notifications may have been missed) drops all.
 * The TTL bounds how long a missed notification could keep a revoked token working. Unknown tokens
 * are not cached.
 */
const TOKEN_TTL_MS = 5_000;
const TOKEN_CACHE_MAX = 10_000;
type TokenRow = {
  id: number;
  project_id: number;
  name: string;
  role: Role;
  revoked_at: number | null;
  last_used_at: number | null;
  project_name: string;
  project_time_zone: string;
  project_language: string;
};
const tokenCaches = new WeakMap<object, Map<string, { at: number; row: TokenRow }>>();

function tokenCacheOf(ctx: AppContext) {
  // Per bus: the events that drop entries arrive on it.
  let cache = tokenCaches.get(ctx.bus);
  if (!cache) {
    const fresh = new Map<string, { at: number; row: TokenRow }>();
    cache = fresh;
    tokenCaches.set(ctx.bus, fresh);
    ctx.bus.subscribe((e) => {
      if (e.type === 'bus.resync') fresh.clear();
      else if (e.type === 'tokens.changed') {
        for (const [k, v] of fresh) if (v.row.project_id === e.projectId) fresh.delete(k);
      }
    });
  }
  return cache;
}

export async function resolveApiToken(ctx: AppContext, token: string): Promise<TokenRow> {
  const m = TOKEN_RE.exec(token);
  if (!m) throw new UnauthenticatedError('The API token is malformed');
  const projectId = Number(m[1]);
  const hash = sha256(token);
  const cache = tokenCacheOf(ctx);
  const now = ctx.clock();
  let row = cache.get(hash);
  if (!row || Math.abs(now - row.at) > TOKEN_TTL_MS || row.row.project_id !== projectId) {
    // The token's project comes in the same query: a token request costs one lookup.
    const found = await ctx.store.db
      .selectFrom('api_tokens')
      .innerJoin('projects', 'projects.id', 'api_tokens.project_id')
      .select([
        'api_tokens.id',
        'api_tokens.project_id',
        'api_tokens.name',
        'api_tokens.role',
        'api_tokens.revoked_at',
        'api_tokens.last_used_at',
        'projects.name as project_name',
        'projects.time_zone as project_time_zone',
        'projects.language as project_language',
      ])
      .where('api_tokens.project_id', '=', projectId)
      .where('api_tokens.token_hash', '=', hash)
      .executeTakeFirst();
    if (!found) {
      cache.delete(hash);
      throw new UnauthenticatedError('The API token is unknown or revoked');
    }
    row = { at: now, row: found };
    if (cache.size >= TOKEN_CACHE_MAX) cache.clear();
    cache.set(hash, row);
  }
  const t = row.row;
  if (t.revoked_at !== null) throw new UnauthenticatedError('The API token is unknown or revoked');
  if (t.last_used_at === null || now - t.last_used_at > 60_000) {
    t.last_used_at = now;
    await ctx.store.db
      .updateTable('api_tokens')
      .set({ last_used_at: now })
      .where('project_id', '=', projectId)
      .where('id', '=', t.id)
      .execute();
  }
  return t;
}

/** Creates a project with its first admin (the `create-admin` command; no default password exists). */
export async function createAdmin(
  ctx: AppContext,
  input: { email: string; projectName: string; password: string; name?: string | undefined },
) {
  const email = Email.safeParse(input.email);
  if (!email.success) throw invalid('email', email.error.issues[0]?.message ?? 'is invalid');
  const pw = Password.safeParse(input.password);
  if (!pw.success) throw invalid('password', pw.error.issues[0]?.message ?? 'is invalid');
  const projectName = input.projectName.trim();
  if (!projectName || projectName.length > 200) throw invalid('project', 'must be 1–200 characters');
  const passwordHash = await hashPassword(pw.data);
  const now = ctx.clock();
  return ctx.store.db.transaction().execute(async (trx) => {
    let user = await trx.selectFrom('users').selectAll().where('email', '=', email.data).executeTakeFirst();
    if (user?.password_hash) {
      // Refuse to silently reset a password: that would be a way to take over an account.
      const existing = await trx
        .selectFrom('memberships')
        .innerJoin('projects', 'projects.id', 'memberships.project_id')
        .select('projects.id')
        .where('memberships.user_id', '=', user.id)
        .where('projects.name', '=', projectName)
        .executeTakeFirst();
      if (existing) throw new ConflictError(`${email.data} is already an admin of "${projectName}"`);
    }
    if (!user) {
      user = await trx
        .insertInto('users')
        .values({
          email: email.data,
          name: input.name?.trim() || email.data.split('@')[0]!,
          password_hash: passwordHash,
          locale: null,
          created_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    } else if (!user.password_hash) {
      await trx.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', user.id).execute();
    }
    let project = await trx
      .selectFrom('projects')
      .select(['id', 'name'])
      .where('name', '=', projectName)
      .executeTakeFirst();
    if (!project) {
      project = await trx
        .insertInto('projects')
        .values({
          name: projectName,
          public_key: `pk_${randomToken(18)}`,
          settings: '{}',
          created_at: now,
          time_zone: 'Europe/Warsaw',
          language: 'pl',
        })
        .returning(['id', 'name'])
        .executeTakeFirstOrThrow();
    }
    await trx
      .insertInto('memberships')
      .values({ project_id: project.id, user_id: user.id, role: 'admin', created_at: now })
      .onConflict((oc) => oc.columns(['project_id', 'user_id']).doUpdateSet({ role: 'admin' }))
      .execute();
    return { userId: user.id, projectId: project.id, email: email.data, projectName: project.name };
  });
}
