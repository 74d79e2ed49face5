import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Store } from '../store/open.js';
import { buildTestApp, createProject, createUser, forEachStore, TEST_PASSWORD } from '../testing/harness.js';
import { INVITE_TTL_MS } from './invites.js';

/**
 * Invitations by link, over HTTP as the web app uses them: an admin invites; the link shows the
 * project, email and role; accepting creates the account (or checks an existing one's password),
 * signs in, and works once; expired and used links answer 410, unknown ones 404.
 */

type Headers = Record<string, string>;

forEachStore('invites', (env) => {
  let store: Store;
  let app: FastifyInstance;
  let projectId: number;
  let otherProjectId: number;
  let admin: Headers;
  let now = Date.parse('2026-03-02T09:00:00Z');
  const clock = () => now;
  let existing: { id: number; email: string; name: string };

  const errorOf = (res: LightMyRequestResponse) =>
    (res.json() as { error: { code: string; message: string; fields?: { field: string; message: string }[] } }).error;
  const cookieOf = (res: LightMyRequestResponse) => {
    const raw = res.headers['set-cookie'];
    return String(Array.isArray(raw) ? raw[0] : raw).split(';')[0]!;
  };
  const login = async (email: string, password = TEST_PASSWORD): Promise<Headers> => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
    assert.equal(res.statusCode, 200, `login ${email}: ${res.body}`);
    return { cookie: cookieOf(res), 'x-csrf-token': (res.json() as { csrfToken: string }).csrfToken };
  };
  const invite = async (payload: object, as = admin) =>
    app.inject({ method: 'POST', url: `/api/v1/projects/${projectId}/users/invites`, headers: as, payload });
  const tokenOf = (res: LightMyRequestResponse) => (res.json() as { token: string }).token;
  const show = (token: string) => app.inject({ method: 'GET', url: `/api/v1/invites/${token}` });
  const accept = (token: string, payload: object) =>
    app.inject({ method: 'POST', url: `/api/v1/invites/${token}/accept`, payload });

  before(async () => {
    store = env.ts.store;
    app = (await buildTestApp(store, clock)).fastify;
    projectId = await createProject(store, 'Sklep Rowerowy');
    otherProjectId = await createProject(store, 'Kwiaciarnia');
    const a = await createUser(store, projectId, 'admin', 'Agata Admin');
    existing = await createUser(store, otherProjectId, 'manager', 'Ewa Istniejąca');
    admin = await login(a.email);
  });
  after(async () => {
    await app?.close();
  });

  test('invite → the link shows the project → accept → signed in as a manager → can log in later', async () => {
    const res = await invite({ email: ' Nowy.Menedzer@Example.test ', role: 'manager', name: 'Nowy' });
    assert.equal(res.statusCode, 201, res.body);
    const body = res.json() as { url: string; token: string; email: string; role: string; expiresAt: string };
    assert.equal(body.email, 'nowy.menedzer@example.test');
    assert.equal(body.role, 'manager');
    assert.equal(body.url, `http://localhost:3000/invite/${body.token}`);
    assert.match(body.token, new RegExp(`^dzi_${projectId}_[A-Za-z0-9_-]{43}$`));
    assert.equal(body.expiresAt, new Date(now + INVITE_TTL_MS).toISOString());
    const stored = await store.db.selectFrom('invites').selectAll().execute();
    assert.ok(!JSON.stringify(stored).includes(body.token), 'only the hash of the token is stored');
    const audit = await store.db.selectFrom('audit_log').select(['action', 'details']).execute();
    assert.ok(!JSON.stringify(audit).includes(body.token), 'the audit log does not keep the token');

    const shown = await show(body.token);
    assert.equal(shown.statusCode, 200, shown.body);
    assert.deepEqual(shown.json(), {
      projectName: 'Sklep Rowerowy',
      email: 'nowy.menedzer@example.test',
      role: 'manager',
      name: 'Nowy',
      expiresAt: body.expiresAt,
      existingAccount: false,
    });

    const accepted = await accept(body.token, { name: 'Nowy Menedżer', password: 'dobre-haslo-2026' });
    assert.equal(accepted.statusCode, 200, accepted.body);
    const me = accepted.json() as {
      user: { name: string };
      projectId: number;
      projects: { id: number; role: string }[];
    };
    assert.equal(me.user.name, 'Nowy Menedżer');
    assert.equal(me.projectId, projectId);
    assert.deepEqual(
      me.projects.map((p) => [p.id, p.role]),
      [[projectId, 'manager']],
    );
    // The cookie it set is a session, like login's.
    const session = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: cookieOf(accepted) } });
    assert.equal(session.statusCode, 200);
    const dialogs = await app.inject({
      method: 'GET',
      url: `/api/v1/projects/${projectId}/dialogs`,
      headers: { cookie: cookieOf(accepted) },
    });
    assert.equal(dialogs.statusCode, 200, 'the new manager can use the project');
    await login('nowy.menedzer@example.test', 'dobre-haslo-2026');

    // One use only.
    const again = await accept(body.token, { name: 'Ktoś inny', password: 'inne-haslo-2026' });
    assert.equal(again.statusCode, 410, again.body);
    assert.equal(errorOf(again).code, 'gone');
    assert.equal((await show(body.token)).statusCode, 410);
    const users = await store.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'nowy.menedzer@example.test')
      .execute();
    assert.equal(users.length, 1);
  });

  test('an expired link → 410 on both endpoints, nothing created', async () => {
    const token = tokenOf(await invite({ email: 'spozniony@example.test', role: 'supervisor' }));
    const saved = now;
    now += INVITE_TTL_MS + 1;
    try {
      assert.equal((await show(token)).statusCode, 410);
      const res = await accept(token, { name: 'Spóźniony', password: 'dobre-haslo-2026' });
      assert.equal(res.statusCode, 410, res.body);
      assert.match(errorOf(res).message, /expired/);
    } finally {
      now = saved;
    }
    const user = await store.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'spozniony@example.test')
      .execute();
    assert.deepEqual(user, []);
    // Listed as expired, so that the admin sees why.
    now += INVITE_TTL_MS + 1;
    try {
      const list = await app.inject({
        method: 'GET',
        url: `/api/v1/projects/${projectId}/users/invites`,
        headers: admin,
      });
      const item = (list.json() as { items: { email: string; status: string }[] }).items.find(
        (i) => i.email === 'spozniony@example.test',
      );
      assert.equal(item?.status, 'expired');
    } finally {
      now = saved;
    }
  });

  test('an existing account: a wrong password → 401 and the link still works; the right one adds the membership', async () => {
    const token = tokenOf(await invite({ email: existing.email, role: 'supervisor' }));
    const shown = await show(token);
    assert.equal((shown.json() as { existingAccount: boolean }).existingAccount, true);

    const wrong = await accept(token, { password: 'not the password' });
    assert.equal(wrong.statusCode, 401, wrong.body);
    assert.equal(errorOf(wrong).code, 'unauthenticated');
    assert.equal(wrong.headers['set-cookie'], undefined);
    const before = await store.db
      .selectFrom('memberships')
      .select('project_id')
      .where('user_id', '=', existing.id)
      .execute();
    assert.deepEqual(
      before.map((m) => m.project_id),
      [otherProjectId],
    );

    const right = await accept(token, { name: 'Ignored', password: TEST_PASSWORD });
    assert.equal(right.statusCode, 200, right.body);
    const me = right.json() as { user: { name: string }; projects: { id: number; role: string }[] };
    assert.equal(me.user.name, 'Ewa Istniejąca', 'an existing account keeps its name');
    assert.deepEqual(
      me.projects.map((p) => [p.id, p.role]).sort(),
      [
        [projectId, 'supervisor'],
        [otherProjectId, 'manager'],
      ].sort(),
    );
    await login(existing.email); // the password did not change
  });

  test('inviting a member is a 409; a new link for the same email replaces the open one', async () => {
    const member = await invite({ email: existing.email, role: 'manager' });
    assert.equal(member.statusCode, 409, member.body);

    const first = tokenOf(await invite({ email: 'dwa.razy@example.test', role: 'manager' }));
    const second = tokenOf(await invite({ email: 'dwa.razy@example.test', role: 'admin' }));
    assert.equal((await show(first)).statusCode, 410);
    assert.equal((await show(second)).statusCode, 200);
    const list = await app.inject({
      method: 'GET',
      url: `/api/v1/projects/${projectId}/users/invites`,
      headers: admin,
    });
    const open = (list.json() as { items: { email: string; role: string }[] }).items.filter(
      (i) => i.email === 'dwa.razy@example.test',
    );
    assert.deepEqual(
      open.map((i) => i.role),
      ['admin'],
    );
  });

  test('a withdrawn link → 410; unknown, malformed and foreign-looking links → 404', async () => {
    const res = await invite({ email: 'wycofany@example.test', role: 'manager' });
    const { id, token } = res.json() as { id: number; token: string };
    const del = await app.inject({
      method: 'DELETE',
      url: `/api/v1/projects/${projectId}/users/invites/${id}`,
      headers: admin,
    });
    assert.equal(del.statusCode, 204, del.body);
    const after = await accept(token, { name: 'X', password: 'dobre-haslo-2026' });
    assert.equal(after.statusCode, 410);
    assert.match(errorOf(after).message, /withdrawn/);

    const unknown = `dzi_${projectId}_${'A'.repeat(43)}`;
    assert.equal((await show(unknown)).statusCode, 404);
    assert.equal((await accept(unknown, { name: 'X', password: 'dobre-haslo-2026' })).statusCode, 404);
    assert.equal((await show('nonsense')).statusCode, 404);
    // The same secret under another project id is another token.
    const moved = token.replace(`dzi_${projectId}_`, `dzi_${otherProjectId}_`);
    assert.equal((await show(moved)).statusCode, 404);
    // Another project's invitation id cannot be withdrawn from here.
    const foreign = await app.inject({
      method: 'DELETE',
      url: `/api/v1/projects/${projectId}/users/invites/987654`,
      headers: admin,
    });
    assert.equal(foreign.statusCode, 404);
  });

  test('validation names the field', async () => {
    const bad = await invite({ email: 'nie-email', role: 'boss' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(
      errorOf(bad)
        .fields?.map((f) => f.field)
        .sort(),
      ['body.email', 'body.role'],
    );

    const token = tokenOf(await invite({ email: 'haslo@example.test', role: 'manager' }));
    const short = await accept(token, { name: 'Krótki', password: 'krotkie' });
    assert.equal(short.statusCode, 400);
    assert.deepEqual(errorOf(short).fields, [{ field: 'body.password', message: 'must be at least 10 characters' }]);
    const noName = await accept(token, { password: 'dobre-haslo-2026' });
    assert.equal(noName.statusCode, 400);
    assert.equal(errorOf(noName).fields?.[0]?.field, 'body.name');
    // Still usable after the refusals.
    assert.equal((await accept(token, { name: 'Hania', password: 'dobre-haslo-2026' })).statusCode, 200);
  });

  test('a disabled member invited again is enabled with the new role', async () => {
    const m = await createUser(store, projectId, 'manager', 'Wiesław Wyłączony');
    const off = await app.inject({
      method: 'PATCH',
      url: `/api/v1/projects/${projectId}/users/${m.id}`,
      headers: admin,
      payload: { disabled: true },
    });
    assert.equal(off.statusCode, 200, off.body);
    const token = tokenOf(await invite({ email: m.email, role: 'supervisor' }));
    const res = await accept(token, { password: TEST_PASSWORD });
    assert.equal(res.statusCode, 200, res.body);
    const row = await store.db
      .selectFrom('memberships')
      .select('role')
      .where('project_id', '=', projectId)
      .where('user_id', '=', m.id)
      .executeTakeFirst();
    assert.equal(row?.role, 'supervisor');
    const gone = await store.db
      .selectFrom('disabled_memberships')
      .select('user_id')
      .where('user_id', '=', m.id)
      .execute();
    assert.deepEqual(gone, []);
  });

  test('only admins invite', async () => {
    const manager = await createUser(store, projectId, 'manager', 'Marek Menedżer');
    const res = await invite({ email: 'ktos@example.test', role: 'admin' }, await login(manager.email));
    assert.equal(res.statusCode, 403);
  });
});
