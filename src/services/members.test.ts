import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Store } from '../store/open.js';
import {
  buildTestApp,
  createProject,
  createToken,
  createUser,
  forEachStore,
  TEST_PASSWORD,
} from '../testing/harness.js';

/**
 * Members as admins manage them: role changes, disabling in one project (and only that one), and a
 * project that always keeps an admin.
 */

type Headers = Record<string, string>;

forEachStore('members', (env) => {
  let store: Store;
  let app: FastifyInstance;
  let projectId: number;
  let otherProjectId: number;
  const u = {} as Record<'admin' | 'manager' | 'both', { id: number; email: string; name: string }>;
  const as = {} as Record<'admin' | 'manager' | 'both' | 'adminToken', Headers>;

  const errorOf = (res: LightMyRequestResponse) => (res.json() as { error: { code: string; message: string } }).error;
  const login = async (email: string): Promise<Headers> => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: TEST_PASSWORD },
    });
    assert.equal(res.statusCode, 200, res.body);
    const raw = res.headers['set-cookie'];
    return {
      cookie: String(Array.isArray(raw) ? raw[0] : raw).split(';')[0]!,
      'x-csrf-token': (res.json() as { csrfToken: string }).csrfToken,
    };
  };
  const patch = (h: Headers, userId: number, payload: object) =>
    app.inject({ method: 'PATCH', url: `/api/v1/projects/${projectId}/users/${userId}`, headers: h, payload });
  const members = async () =>
    store.db
      .selectFrom('memberships')
      .select(['user_id', 'role'])
      .where('project_id', '=', projectId)
      .orderBy('user_id')
      .execute();

  before(async () => {
    store = env.ts.store;
    app = (await buildTestApp(store)).fastify;
    projectId = await createProject(store, 'Sklep');
    otherProjectId = await createProject(store, 'Inny');
    u.admin = await createUser(store, projectId, 'admin', 'Agata Admin');
    u.manager = await createUser(store, projectId, 'manager', 'Marek Menedżer');
    u.both = await createUser(store, projectId, 'manager', 'Olga Obie');
    await store.db
      .insertInto('memberships')
      .values({ project_id: otherProjectId, user_id: u.both.id, role: 'admin', created_at: Date.now() })
      .execute();
    as.admin = await login(u.admin.email);
    as.manager = await login(u.manager.email);
    as.both = await login(u.both.email);
    as.adminToken = { authorization: `Bearer ${await createToken(store, projectId, 'admin')}` };
  });
  after(async () => {
    await app?.close();
  });

  test('the last admin cannot demote or disable themself (409, nothing changes); with a second admin they can', async () => {
    const before = await members();
    for (const body of [{ role: 'manager' }, { disabled: true }, { role: 'supervisor', disabled: true }]) {
      const res = await patch(as.admin, u.admin.id, body);
      assert.equal(res.statusCode, 409, res.body);
      assert.match(errorOf(res).message, /You are the last admin/);
    }
    // An admin token is nobody: it cannot leave the project without a person as admin either.
    const byToken = await patch(as.adminToken, u.admin.id, { role: 'manager' });
    assert.equal(byToken.statusCode, 409);
    assert.match(errorOf(byToken).message, /Agata Admin is the last admin/);
    assert.deepEqual(await members(), before);

    const promote = await patch(as.admin, u.manager.id, { role: 'admin' });
    assert.equal(promote.statusCode, 200, promote.body);
    assert.equal((promote.json() as { role: string }).role, 'admin');
    const demote = await patch(as.admin, u.admin.id, { role: 'supervisor' });
    assert.equal(demote.statusCode, 200, demote.body);
    // Agata is a supervisor now: no more admin routes for her; Marek puts things back.
    assert.equal((await patch(as.admin, u.manager.id, { role: 'manager' })).statusCode, 403);
    assert.equal((await patch(as.manager, u.admin.id, { role: 'admin' })).statusCode, 200);
    assert.equal((await patch(as.admin, u.manager.id, { role: 'manager' })).statusCode, 200);
    const audit = await store.db
      .selectFrom('audit_log')
      .select(['action', 'details'])
      .where('project_id', '=', projectId)
      .where('action', '=', 'user.update')
      .execute();
    assert.equal(audit.length, 4);
  });

  test('disabling takes this project away only; enabling gives it back with the role', async () => {
    const off = await patch(as.admin, u.both.id, { disabled: true });
    assert.equal(off.statusCode, 200, off.body);
    assert.equal((off.json() as { disabled: boolean }).disabled, true);

    // Gone from this project: the member list, the project list, every project route.
    const list = await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/users`, headers: as.admin });
    assert.ok(!(list.json() as { items: { id: number }[] }).items.some((i) => i.id === u.both.id));
    const me = await app.inject({ method: 'GET', url: '/api/v1/me', headers: as.both });
    assert.deepEqual(
      (me.json() as { projects: { id: number }[] }).projects.map((p) => p.id),
      [otherProjectId],
    );
    const dialogs = await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/dialogs`, headers: as.both });
    assert.equal(dialogs.statusCode, 404);
    // Still an admin of the other project.
    const other = await app.inject({
      method: 'GET',
      url: `/api/v1/projects/${otherProjectId}/setup`,
      headers: as.both,
    });
    assert.equal(other.statusCode, 200);

    // The admin still sees them, disabled, and can change their role meanwhile.
    const all = await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/users/all`, headers: as.admin });
    const entry = (all.json() as { items: { id: number; disabled: boolean; role: string }[] }).items.find(
      (i) => i.id === u.both.id,
    );
    assert.equal(entry?.disabled, true);
    assert.equal((await patch(as.admin, u.both.id, { role: 'supervisor' })).statusCode, 200);

    const on = await patch(as.admin, u.both.id, { disabled: false });
    assert.equal(on.statusCode, 200, on.body);
    assert.deepEqual(
      { role: (on.json() as { role: string }).role, disabled: (on.json() as { disabled: boolean }).disabled },
      { role: 'supervisor', disabled: false },
    );
    assert.equal(
      (await app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/dialogs`, headers: as.both })).statusCode,
      200,
    );
  });

  test('a user of another project, or no user at all → 404; an empty change → 400', async () => {
    const stranger = await createUser(store, otherProjectId, 'manager', 'Obcy');
    assert.equal((await patch(as.admin, stranger.id, { role: 'admin' })).statusCode, 404);
    assert.equal((await patch(as.admin, 987654, { role: 'admin' })).statusCode, 404);
    const empty = await patch(as.admin, u.manager.id, {});
    assert.equal(empty.statusCode, 400);
    const rows = await store.db
      .selectFrom('memberships')
      .select('project_id')
      .where('user_id', '=', stranger.id)
      .execute();
    assert.deepEqual(
      rows.map((r) => r.project_id),
      [otherProjectId],
    );
  });
});
