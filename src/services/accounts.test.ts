import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { sql } from 'kysely';
import { AppError } from '../core/errors.js';
import {
  appContext,
  createProject,
  createTestStore,
  createUser,
  forEachStore,
  TEST_PASSWORD,
} from '../testing/harness.js';
import type { Store } from '../store/open.js';
import {
  checkPassword,
  createAdmin,
  createApiToken,
  createSession,
  hashPassword,
  resolveApiToken,
  resolveSession,
  SESSION_TTL_MS,
  sha256,
} from './accounts.js';

/** Every row of every table, as one string: what an attacker with a copy of the database sees. */
async function dumpDatabase(store: Store): Promise<string> {
  const tables =
    store.dialect === 'sqlite'
      ? (await sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`.execute(store.db)).rows
      : (
          await sql<{ name: string }>`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'`.execute(
            store.db,
          )
        ).rows;
  assert.ok(
    tables.some((t) => t.name === 'api_tokens'),
    'the table list must include api_tokens',
  );
  let out = '';
  for (const t of tables) {
    const rows = await sql`SELECT * FROM ${sql.table(t.name)}`.execute(store.db);
    out += `${t.name}\n${JSON.stringify(rows.rows)}\n`;
  }
  return out;
}

async function rejectsWith(p: Promise<unknown>, code: string, field?: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (field)
      assert.ok(
        err.fields?.some((f) => f.field === field),
        `expected field ${field}, got ${JSON.stringify(err.fields)}`,
      );
    return true;
  });
}

const countUsers = async (store: Store) =>
  Number(
    (
      await store.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

forEachStore('accounts', (env) => {
  let projectId: number;
  let manager: { id: number; email: string };
  let disabled: { id: number; email: string };

  before(async () => {
    const store = env.ts.store;
    projectId = await createProject(store, 'Accounts');
    manager = await createUser(store, projectId, 'manager', 'Anna Nowak');
    disabled = await createUser(store, projectId, 'manager', 'Piotr Wyłączony');
    await store.db.updateTable('users').set({ disabled: 1 }).where('id', '=', disabled.id).execute();
  });

  test('a freshly migrated database has no accounts at all: no default password exists', async () => {
    const fresh = await createTestStore(env.kind);
    try {
      assert.equal(await countUsers(fresh.store), 0);
      const sessions = await fresh.store.db.selectFrom('sessions').select('id').execute();
      const tokens = await fresh.store.db.selectFrom('api_tokens').select('id').execute();
      assert.deepEqual([sessions.length, tokens.length], [0, 0]);
    } finally {
      await fresh.destroy();
    }
  });

  test('passwords are hashed with argon2id, salted', async () => {
    const a = await hashPassword('a long enough password');
    const b = await hashPassword('a long enough password');
    assert.match(a, /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
    assert.notEqual(a, b, 'two hashes of one password differ (salt)');
    assert.ok(!a.includes('a long enough password'));
  });

  test('the right password signs in; wrong password, unknown email and a disabled user fail alike', async () => {
    const store = env.ts.store;
    const ok = await checkPassword(store, manager.email, TEST_PASSWORD);
    assert.equal(ok?.id, manager.id);
    // Email is matched case-insensitively and trimmed, as typed in a login form.
    assert.equal((await checkPassword(store, `  ${manager.email.toUpperCase()} `, TEST_PASSWORD))?.id, manager.id);

    const wrong = await checkPassword(store, manager.email, `${TEST_PASSWORD}!`);
    const unknown = await checkPassword(store, 'nobody@example.test', TEST_PASSWORD);
    const off = await checkPassword(store, disabled.email, TEST_PASSWORD);
    const empty = await checkPassword(store, manager.email, '');
    assert.equal(wrong, undefined);
    assert.equal(unknown, undefined);
    assert.equal(off, undefined);
    assert.equal(empty, undefined);
  });

  test('a user without a password (invited, not yet set) cannot sign in with any password', async () => {
    const store = env.ts.store;
    const u = await store.db
      .insertInto('users')
      .values({
        email: 'invited@example.test',
        name: 'Invited',
        password_hash: null,
        locale: null,
        created_at: Date.now(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    assert.equal(await checkPassword(store, 'invited@example.test', ''), undefined);
    assert.equal(await checkPassword(store, 'invited@example.test', 'anything at all'), undefined);
    await store.db.deleteFrom('users').where('id', '=', u.id).execute();
  });

  test('sessions are stored by hash, expire after their TTL and slide while used', async () => {
    const store = env.ts.store;
    let now = Date.parse('2026-03-01T10:00:00Z');
    const ctx = appContext(store, () => now);
    const s = await createSession(ctx, manager.id);
    assert.ok(s.token.length >= 40 && s.csrfToken.length >= 30);
    assert.equal(s.expiresAt, now + SESSION_TTL_MS);

    const row = await store.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', manager.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.id, sha256(s.token), 'the session is keyed by the token hash');
    assert.ok(!(await dumpDatabase(store)).includes(s.token), 'the cookie value is not stored');

    const r1 = await resolveSession(ctx, s.token);
    assert.equal(r1?.user.id, manager.id);
    assert.equal(r1?.csrfToken, s.csrfToken);
    assert.equal(await resolveSession(ctx, `${s.token}x`), undefined);

    // Used after 2 hours: the expiry moves forward.
    now += 2 * 3600_000;
    assert.ok(await resolveSession(ctx, s.token));
    const slid = await store.db
      .selectFrom('sessions')
      .select('expires_at')
      .where('id', '=', sha256(s.token))
      .executeTakeFirstOrThrow();
    assert.equal(slid.expires_at, now + SESSION_TTL_MS);

    // Unused for a whole TTL after its last use: gone.
    now += SESSION_TTL_MS;
    assert.equal(await resolveSession(ctx, s.token), undefined);

    // The boundary, on sessions never used since sign-in.
    const t0 = now;
    const a = await createSession(ctx, manager.id);
    const b = await createSession(ctx, manager.id);
    now = t0 + SESSION_TTL_MS - 1;
    assert.ok(await resolveSession(ctx, a.token), 'still valid one millisecond before expiry');
    now = t0 + SESSION_TTL_MS;
    assert.equal(await resolveSession(ctx, b.token), undefined, 'expired at expiresAt');
  });

  test('a disabled user loses their open sessions', async () => {
    const store = env.ts.store;
    const ctx = appContext(store);
    const u = await createUser(store, projectId, 'supervisor', 'Soon Disabled');
    const s = await createSession(ctx, u.id);
    assert.ok(await resolveSession(ctx, s.token));
    await store.db.updateTable('users').set({ disabled: 1 }).where('id', '=', u.id).execute();
    assert.equal(await resolveSession(ctx, s.token), undefined);
  });

  test('an API token is shown once, stored only as a hash, and works until revoked', async () => {
    const store = env.ts.store;
    const ctx = appContext(store);
    const t = await createApiToken(ctx, { projectId, role: 'supervisor', name: 'CRM sync', createdBy: manager.id });
    const m = /^dz_(\d+)_([A-Za-z0-9_-]{40,})$/.exec(t.token);
    assert.ok(m, `unexpected token shape ${t.token}`);
    assert.equal(Number(m[1]), projectId);
    const secret = m[2]!;

    const dump = await dumpDatabase(store);
    assert.ok(!dump.includes(secret), 'the token secret appears nowhere in the database');
    assert.ok(dump.includes(sha256(t.token)), 'its hash is what is stored');

    const row = await resolveApiToken(ctx, t.token);
    assert.equal(row.id, t.id);
    assert.equal(row.role, 'supervisor');
    assert.equal(row.project_id, projectId);

    // A token is bound to its project: the same secret under another project id is unknown.
    const other = await createProject(store, 'Other for tokens');
    await rejectsWith(resolveApiToken(ctx, `dz_${other}_${secret}`), 'unauthenticated');
    const flipped = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    await rejectsWith(resolveApiToken(ctx, `dz_${projectId}_${flipped}`), 'unauthenticated');
    await rejectsWith(resolveApiToken(ctx, 'not a token'), 'unauthenticated');

    // Revoking publishes tokens.changed, which drops the cached lookup at once.
    await store.db.updateTable('api_tokens').set({ revoked_at: Date.now() }).where('id', '=', t.id).execute();
    ctx.bus.publish({ type: 'tokens.changed', projectId });
    await rejectsWith(resolveApiToken(ctx, t.token), 'unauthenticated');
  });

  test('token lookups are cached for 5 s: a missed tokens.changed delays a revoke by at most that', async () => {
    const store = env.ts.store;
    let now = Date.now();
    const ctx = appContext(store, () => now);
    const t = await createApiToken(ctx, { projectId, role: 'manager', name: 'cached', createdBy: null });
    assert.equal((await resolveApiToken(ctx, t.token)).id, t.id);
    // Revoked behind the cache's back (no event): the cached lookup still answers...
    await store.db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', t.id).execute();
    now += 4_000;
    assert.equal((await resolveApiToken(ctx, t.token)).id, t.id);
    // ...until the entry is older than the TTL.
    now += 1_500;
    await rejectsWith(resolveApiToken(ctx, t.token), 'unauthenticated');

    // A renamed project shows in the next lookup once tokens.changed is published.
    const u = await createApiToken(ctx, { projectId, role: 'manager', name: 'renamed', createdBy: null });
    const before = await resolveApiToken(ctx, u.token);
    await store.db.updateTable('projects').set({ name: 'Accounts renamed' }).where('id', '=', projectId).execute();
    assert.equal((await resolveApiToken(ctx, u.token)).project_name, before.project_name);
    ctx.bus.publish({ type: 'tokens.changed', projectId });
    assert.equal((await resolveApiToken(ctx, u.token)).project_name, 'Accounts renamed');
    await store.db.updateTable('projects').set({ name: before.project_name }).where('id', '=', projectId).execute();
  });

  test('createApiToken refuses an unknown project and an empty name', async () => {
    const ctx = appContext(env.ts.store);
    await rejectsWith(
      createApiToken(ctx, { projectId: 987654, role: 'admin', name: 'x', createdBy: null }),
      'validation_failed',
      'projectId',
    );
    await rejectsWith(
      createApiToken(ctx, { projectId, role: 'admin', name: '   ', createdBy: null }),
      'validation_failed',
      'name',
    );
  });

  test('createAdmin refuses a short password and a bad email, and creates nothing', async () => {
    const store = env.ts.store;
    const ctx = appContext(store);
    const before = await countUsers(store);
    await rejectsWith(
      createAdmin(ctx, { email: 'boss@example.test', projectName: 'Firma', password: 'short' }),
      'validation_failed',
      'password',
    );
    await rejectsWith(
      createAdmin(ctx, { email: 'boss@example.test', projectName: 'Firma', password: '' }),
      'validation_failed',
      'password',
    );
    await rejectsWith(
      createAdmin(ctx, { email: 'not-an-email', projectName: 'Firma', password: 'long enough password' }),
      'validation_failed',
      'email',
    );
    await rejectsWith(
      createAdmin(ctx, { email: 'boss@example.test', projectName: '  ', password: 'long enough password' }),
      'validation_failed',
      'project',
    );
    assert.equal(await countUsers(store), before);
    const p = await store.db.selectFrom('projects').select('id').where('name', '=', 'Firma').executeTakeFirst();
    assert.equal(p, undefined);
  });

  test('createAdmin creates an admin who signs in with exactly the given password', async () => {
    const store = env.ts.store;
    const ctx = appContext(store);
    const r = await createAdmin(ctx, {
      email: ' Boss@Example.TEST ',
      projectName: 'Firma Sp. z o.o.',
      password: 'zażółć gęślą jaźń',
    });
    assert.equal(r.email, 'boss@example.test');
    const u = await store.db.selectFrom('users').selectAll().where('id', '=', r.userId).executeTakeFirstOrThrow();
    assert.ok(u.password_hash?.startsWith('$argon2id$'));
    const m = await store.db
      .selectFrom('memberships')
      .select('role')
      .where('project_id', '=', r.projectId)
      .where('user_id', '=', r.userId)
      .executeTakeFirstOrThrow();
    assert.equal(m.role, 'admin');
    assert.equal((await checkPassword(store, 'boss@example.test', 'zażółć gęślą jaźń'))?.id, r.userId);
    assert.equal(await checkPassword(store, 'boss@example.test', 'zazolc gesla jazn'), undefined);

    // Running it again for the same admin and project is refused, not a silent password reset.
    await rejectsWith(
      createAdmin(ctx, {
        email: 'boss@example.test',
        projectName: 'Firma Sp. z o.o.',
        password: 'another password 123',
      }),
      'conflict',
    );
    assert.equal((await checkPassword(store, 'boss@example.test', 'zażółć gęślą jaźń'))?.id, r.userId);
    assert.equal(await checkPassword(store, 'boss@example.test', 'another password 123'), undefined);
  });
});
