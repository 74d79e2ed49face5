import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import type { Role } from '../store/types.js';
import { insertDialog } from '../testing/fixtures.js';
import {
  buildTestApp,
  createProject,
  createToken,
  createUser,
  forEachStore,
  TEST_PASSWORD,
} from '../testing/harness.js';
import type { RegisteredRoute } from './route.js';

/**
 * THE AUTHORIZATION MATRIX. Every project endpoint in the registry (so a new one is covered the
 * day it is registered) × every kind of principal × own / foreign / nonexistent project. Then the
 * manager visibility rule of SPEC §1 on each dialog verb. Every refused write must leave the
 * database exactly as it was.
 */

type App = Awaited<ReturnType<typeof buildTestApp>>['fastify'];
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

const MISSING_ID = 987654321;

/** Bodies for project endpoints whose body has required fields; `{}` otherwise. */
function exampleBodies(ids: { managerId: number }): Record<string, unknown> {
  return {
    'POST /api/v1/projects/:projectId/dialogs/:id/assign': { managerId: ids.managerId },
    'POST /api/v1/projects/:projectId/dialogs/:id/reply': { text: 'Dzień dobry, już sprawdzam.' },
    'POST /api/v1/projects/:projectId/dialogs/:id/read': {},
    'POST /api/v1/projects/:projectId/dialogs': { channelId: 1, to: '+48 601 234 567', text: 'Dzień dobry' },
    // A gateway channel: valid without any platform call (the matrix never lets an admin create one).
    'POST /api/v1/projects/:projectId/channels': {
      type: 'sms-http',
      name: 'Bramka',
      credentials: { sendUrl: 'https://gateway.example/send', secret: 'matrix-shared-secret-0123' },
    },
    'PATCH /api/v1/projects/:projectId/channels/:id': { name: 'Nowa nazwa', enabled: false },
    'POST /api/v1/projects/:projectId/numbers': { e164: '+48 601 234 567', channelId: 1, smsEnabled: true },
    'PATCH /api/v1/projects/:projectId/numbers/:id': { smsEnabled: false, outboundOnly: true },
    'POST /api/v1/projects/:projectId/users/invites': { email: 'nowa.osoba@example.test', role: 'manager' },
    'PATCH /api/v1/projects/:projectId/users/:id': { role: 'manager', disabled: true },
    'PATCH /api/v1/projects/:projectId/settings': { timeZone: 'Europe/Kyiv', services: { sms: false } },
    'POST /api/v1/projects/:projectId/webhooks': { url: 'https://crm.example/hooks', events: ['dialog.opened'] },
    'PATCH /api/v1/projects/:projectId/webhooks/:id': { enabled: false },
    'POST /api/v1/projects/:projectId/tokens': { name: 'Matrix', role: 'manager' },
  };
}

interface Principal {
  label: string;
  role: Role | 'none';
  kind: 'session' | 'token';
  /** The project this principal belongs to (undefined: no project at all). */
  own: 'A' | 'B' | undefined;
  cookie?: string;
  csrf?: string;
  token?: string;
}

function headersFor(p: Principal | undefined, method: string): Record<string, string> {
  if (!p) return {};
  if (p.kind === 'token') return { authorization: `Bearer ${p.token}` };
  return method === 'GET' ? { cookie: p.cookie! } : { cookie: p.cookie!, 'x-csrf-token': p.csrf! };
}

function errorOf(res: LightMyRequestResponse) {
  const body = res.json() as { error: { code: string; message: string; requestId: string; fields?: unknown } };
  assert.deepEqual(Object.keys(body), ['error'], `error body: ${res.body}`);
  assert.equal(typeof body.error.message, 'string');
  assert.equal(body.error.requestId, res.headers['x-request-id']);
  const { requestId: _ignored, ...rest } = body.error;
  return rest;
}

function expectStatus(res: LightMyRequestResponse, status: number, what: string) {
  assert.equal(res.statusCode, status, `${what}: expected ${status}, got ${res.statusCode} ${res.body.slice(0, 300)}`);
}

forEachStore('authorization', (env) => {
  let app: App;
  let registry: RegisteredRoute[];
  const P = { A: 0, B: 0 };
  const u = {} as Record<
    'adminA' | 'supervisorA' | 'm1' | 'm2' | 'adminB' | 'managerB' | 'outsider',
    { id: number; email: string; name: string }
  >;
  const d = {} as Record<
    | 'unassigned'
    | 'm1Open'
    | 'm2Open'
    | 'transferred'
    | 'closedM1'
    | 'closedM2'
    | 'closedTransferred'
    | 'closedUnassigned'
    | 'b',
    number
  >;
  const principals: Principal[] = [];
  let bodies: Record<string, unknown>;

  const store = () => env.ts.store;
  const projectRoutes = () => registry.filter((r) => r.auth === 'project');
  const key = (r: RegisteredRoute) => `${r.method} ${r.url}`;

  const pathOf = (r: RegisteredRoute, projectId: number, dialogId: number) => {
    const url = r.url
      .replace(':projectId', String(projectId))
      .replace(':id', String(dialogId))
      .replace(':deliveryId', String(dialogId));
    assert.ok(!url.includes(':'), `${key(r)}: the matrix does not know how to fill this path; extend pathOf`);
    return url;
  };

  const call = (p: Principal | undefined, r: RegisteredRoute, projectId: number, dialogId: number) =>
    app.inject({
      method: r.method as Method,
      url: pathOf(r, projectId, dialogId),
      headers: headersFor(p, r.method),
      ...(r.method === 'GET' ? {} : { payload: (bodies[key(r)] ?? {}) as object }),
    });

  const req = (p: Principal | undefined, method: Method, url: string, payload?: object) =>
    app.inject({
      method,
      url,
      headers: headersFor(p, method),
      ...(method === 'GET' ? {} : { payload: payload ?? {} }),
    });

  /** Everything a refused request could have touched. */
  const snapshot = async () => {
    const db = store().db;
    return {
      dialogs: await db.selectFrom('dialogs').selectAll().orderBy('project_id').orderBy('id').execute(),
      managers: await db
        .selectFrom('dialog_managers')
        .selectAll()
        .orderBy('project_id')
        .orderBy('dialog_id')
        .orderBy('user_id')
        .execute(),
      audit: await db
        .selectFrom('audit_log')
        .select(['project_id', 'id', 'action'])
        .orderBy('project_id')
        .orderBy('id')
        .execute(),
      messages: (await db.selectFrom('messages').select('id').execute()).length,
      // API tokens: none created or revoked (last use moves on every token request and is left out).
      tokens: await db
        .selectFrom('api_tokens')
        .select(['project_id', 'id', 'role', 'revoked_at'])
        .orderBy('project_id')
        .orderBy('id')
        .execute(),
    };
  };

  const principal = (label: string) => {
    const p = principals.find((x) => x.label === label);
    assert.ok(p, label);
    return p;
  };
  const dialogUrl = (id: number, suffix = '') => `/api/v1/projects/${P.A}/dialogs/${id}${suffix}`;
  const dialogRow = (id: number) =>
    store()
      .db.selectFrom('dialogs')
      .selectAll()
      .where('project_id', '=', P.A)
      .where('id', '=', id)
      .executeTakeFirstOrThrow();

  before(async () => {
    const s = store();
    P.A = await createProject(s, 'Own project');
    P.B = await createProject(s, 'Foreign project');
    u.adminA = await createUser(s, P.A, 'admin', 'Agata Admin');
    u.supervisorA = await createUser(s, P.A, 'supervisor', 'Stefan Supervisor');
    u.m1 = await createUser(s, P.A, 'manager', 'Marek Pierwszy');
    u.m2 = await createUser(s, P.A, 'manager', 'Maria Druga');
    u.adminB = await createUser(s, P.B, 'admin', 'Bogdan Obcy');
    u.managerB = await createUser(s, P.B, 'manager', 'Beata Obca');
    // A person with an account but no project at all.
    u.outsider = await createUser(s, P.B, 'manager', 'Olga Outsider');
    await s.db.deleteFrom('memberships').where('user_id', '=', u.outsider.id).execute();

    const t0 = Date.parse('2026-02-02T09:00:00Z');
    const mk = (
      projectId: number,
      status: 'new' | 'open' | 'closed',
      managerId: number | null,
      clientName: string,
      previousManagerIds: number[] = [],
      i = 0,
    ) =>
      insertDialog(s, {
        projectId,
        status,
        managerId,
        previousManagerIds,
        createdAt: t0 + i * 60_000,
        clientName,
        clientPhone: `+4860000${String(1000 + i)}`,
        channelType: 'sms',
        messages: [
          { direction: 'in', text: `Pytanie ${clientName}`, at: t0 + i * 60_000 },
          ...(managerId === null
            ? []
            : [{ direction: 'out' as const, text: 'Odpowiedź', at: t0 + i * 60_000 + 30_000 }]),
        ],
      }).then((r) => r.id);
    d.unassigned = await mk(P.A, 'new', null, 'Nieprzypisany', [], 1);
    d.m1Open = await mk(P.A, 'open', u.m1.id, 'Klient M1', [], 2);
    d.m2Open = await mk(P.A, 'open', u.m2.id, 'Klient M2', [], 3);
    d.transferred = await mk(P.A, 'open', u.m2.id, 'Przekazany', [u.m1.id], 4);
    d.closedM1 = await mk(P.A, 'closed', u.m1.id, 'Zamknięty M1', [], 5);
    d.closedM2 = await mk(P.A, 'closed', u.m2.id, 'Zamknięty M2', [], 6);
    d.closedTransferred = await mk(P.A, 'closed', u.m2.id, 'Zamknięty przekazany', [u.m1.id], 7);
    d.closedUnassigned = await mk(P.A, 'closed', null, 'Zamknięty bez menedżera', [], 8);
    d.b = await mk(P.B, 'open', u.managerB.id, 'Klient obcy', [], 9);

    const built = await buildTestApp(s);
    app = built.fastify;
    registry = built.registry;
    bodies = exampleBodies({ managerId: u.m2.id });

    const signIn = async (label: string, role: Principal['role'], own: Principal['own'], email: string) => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email, password: TEST_PASSWORD },
      });
      expectStatus(res, 200, `login ${label}`);
      const raw = res.headers['set-cookie'];
      const cookie = String(Array.isArray(raw) ? raw[0] : raw).split(';')[0]!;
      principals.push({
        label,
        role,
        kind: 'session',
        own,
        cookie,
        csrf: (res.json() as { csrfToken: string }).csrfToken,
      });
    };
    await signIn('admin session', 'admin', 'A', u.adminA.email);
    await signIn('supervisor session', 'supervisor', 'A', u.supervisorA.email);
    await signIn('manager session', 'manager', 'A', u.m1.email);
    await signIn('foreign admin session', 'admin', 'B', u.adminB.email);
    await signIn('session without projects', 'none', undefined, u.outsider.email);
    for (const role of ['admin', 'supervisor', 'manager'] as const) {
      principals.push({
        label: `${role} token`,
        role,
        kind: 'token',
        own: 'A',
        token: await createToken(s, P.A, role),
      });
    }
    principals.push({
      label: 'foreign admin token',
      role: 'admin',
      kind: 'token',
      own: 'B',
      token: await createToken(s, P.B, 'admin'),
    });
  });
  after(async () => {
    await app?.close();
  });

  test('the registry has the project endpoints of SPEC §7, and the matrix can fill each one', () => {
    const urls = projectRoutes().map(key);
    for (const expected of [
      'GET /api/v1/projects/:projectId/dialogs',
      'GET /api/v1/projects/:projectId/dialogs/:id',
      'GET /api/v1/projects/:projectId/dialogs/:id/messages',
      'POST /api/v1/projects/:projectId/dialogs/:id/close',
      'POST /api/v1/projects/:projectId/dialogs/:id/assign',
      'POST /api/v1/projects/:projectId/dialogs/:id/reopen',
      'GET /api/v1/projects/:projectId/users',
      'GET /api/v1/projects/:projectId/audit',
      'GET /api/v1/projects/:projectId/tokens',
      'POST /api/v1/projects/:projectId/tokens',
      'DELETE /api/v1/projects/:projectId/tokens/:id',
    ]) {
      assert.ok(urls.includes(expected), `${expected} is registered`);
    }
    for (const r of projectRoutes()) {
      assert.ok(r.url.startsWith('/api/v1/projects/:projectId/'), `${key(r)} lives under the project path`);
      pathOf(r, 1, 1);
      // The matrix must reach the authorization step, so its request must parse.
      if (r.body) {
        const ok = r.body.safeParse(bodies[key(r)] ?? {}).success;
        assert.ok(ok, `${key(r)}: add a valid example body to exampleBodies() in this file`);
      }
      if (r.query) assert.ok(r.query.safeParse({}).success, `${key(r)}: its query needs parameters; teach the matrix`);
    }
    // No project data is reachable without authentication.
    for (const r of registry.filter((x) => x.auth === 'none')) {
      assert.ok(!r.url.includes(':projectId'), `${key(r)} is public but takes a project`);
    }
  });

  test('unauthenticated → 401 on every endpoint that needs a principal, whatever the project', async () => {
    const before = await snapshot();
    const badToken: Principal = {
      label: 'forged token',
      role: 'admin',
      kind: 'token',
      own: 'A',
      token: `dz_${P.A}_forgedforgedforgedforged00`,
    };
    const expiredCookie: Principal = {
      label: 'forged cookie',
      role: 'admin',
      kind: 'session',
      own: 'A',
      cookie: 'dz_session=forged',
      csrf: 'x',
    };
    for (const r of registry.filter((x) => x.auth !== 'none')) {
      for (const projectId of [P.A, P.B, MISSING_ID]) {
        for (const p of [undefined, badToken, expiredCookie]) {
          const res = await call(p, r, projectId, projectId === P.B ? d.b : d.unassigned);
          expectStatus(res, 401, `${key(r)} project ${projectId} as ${p?.label ?? 'nobody'}`);
          assert.equal(errorOf(res).code, 'unauthenticated');
        }
      }
    }
    assert.deepEqual(await snapshot(), before);
  });

  test('a foreign or nonexistent project → 404, the two indistinguishable, nothing written', async () => {
    const before = await snapshot();
    for (const r of projectRoutes()) {
      for (const p of principals) {
        const foreign = p.own === 'B' ? P.A : P.B;
        const foreignDialog = p.own === 'B' ? d.m1Open : d.b;
        const what = `${key(r)} as ${p.label}`;
        const a = await call(p, r, foreign, foreignDialog);
        const b = await call(p, r, MISSING_ID, foreignDialog);
        const c = await call(p, r, MISSING_ID, MISSING_ID);
        expectStatus(a, 404, `${what} on the foreign project`);
        expectStatus(b, 404, `${what} on a missing project`);
        expectStatus(c, 404, `${what} on a missing project and id`);
        assert.deepEqual(errorOf(a), errorOf(b), `${what}: foreign and missing projects differ`);
        assert.deepEqual(errorOf(a), errorOf(c), `${what}: foreign and missing projects differ`);
        assert.equal(errorOf(a).code, 'not_found');
      }
    }
    // A principal with no project at all sees every project as missing, its own included.
    const outsider = principal('session without projects');
    for (const r of projectRoutes()) {
      const res = await call(outsider, r, P.A, d.unassigned);
      expectStatus(res, 404, `${key(r)} as ${outsider.label}`);
      assert.deepEqual(errorOf(res), errorOf(await call(outsider, r, MISSING_ID, d.unassigned)));
    }
    assert.deepEqual(await snapshot(), before);
  });

  test("another project's dialog id inside the own project path → 404 exactly like a missing id", async () => {
    const before = await snapshot();
    for (const r of projectRoutes().filter((x) => x.url.includes(':id'))) {
      for (const p of principals.filter((x) => x.own !== undefined)) {
        const own = p.own === 'A' ? P.A : P.B;
        const foreignDialog = p.own === 'A' ? d.b : d.m1Open;
        const what = `${key(r)} as ${p.label}`;
        const a = await call(p, r, own, foreignDialog);
        const b = await call(p, r, own, MISSING_ID);
        assert.equal(a.statusCode, b.statusCode, `${what}: foreign ${a.statusCode} vs missing ${b.statusCode}`);
        assert.deepEqual(errorOf(a), errorOf(b), `${what}: a foreign dialog must look like a missing one`);
        if (!r.roles || r.roles.includes(p.role as Role)) expectStatus(a, 404, what);
      }
    }
    assert.deepEqual(await snapshot(), before);
  });

  test('roles in the own project: a role outside the endpoint’s roles → 403; allowed readers → 200', async () => {
    const before = await snapshot();
    for (const r of projectRoutes()) {
      for (const p of principals.filter((x) => x.own === 'A')) {
        const allowed = !r.roles || r.roles.includes(p.role as Role);
        const what = `${key(r)} as ${p.label}`;
        if (!allowed) {
          const res = await call(p, r, P.A, d.unassigned);
          expectStatus(res, 403, what);
          assert.equal(errorOf(res).code, 'forbidden');
        } else if (r.method === 'GET') {
          // The unassigned dialog is visible to every role (SPEC §1). A GET whose `:id` is not a
          // dialog's but a webhook endpoint's (its delivery log) finds no endpoint under a dialog's id.
          const noWebhook = r.url.includes('/webhooks/:id');
          expectStatus(await call(p, r, P.A, d.unassigned), noWebhook ? 404 : 200, what);
        }
      }
    }
    // Only GETs ran for allowed roles; reads may only add audit entries (an export is audited).
    const afterwards = await snapshot();
    assert.deepEqual(afterwards.dialogs, before.dialogs);
    assert.deepEqual(afterwards.managers, before.managers);
  });

  test('no collection endpoint (list, export, ...) shows a hidden or foreign dialog to anyone', async () => {
    // Names and phones of the dialogs a manager must not see, and of the other project's dialog.
    const foreign = ['Klient obcy', '+48600001009'];
    const hiddenFromManagers = ['Klient M2', '+48600001003', 'Zamknięty M2', '+48600001006'];
    const collections = projectRoutes().filter((r) => r.method === 'GET' && !r.url.includes(':id'));
    assert.ok(collections.length >= 3);
    for (const r of collections) {
      // Widen to every status where the endpoint takes one, so that nothing is hidden by a default.
      const wide = r.query?.safeParse({ status: 'all' }).success ? '?status=all' : '';
      for (const p of principals.filter((x) => x.own === 'A')) {
        const res = await app.inject({ method: 'GET', url: pathOf(r, P.A, 0) + wide, headers: headersFor(p, 'GET') });
        if (res.statusCode === 403) continue;
        expectStatus(res, 200, `${key(r)} as ${p.label}`);
        const leaked = [...foreign, ...(p.role === 'manager' ? hiddenFromManagers : [])].filter((s) =>
          res.body.includes(s),
        );
        assert.deepEqual(leaked, [], `${key(r)} as ${p.label} shows what it must not`);
      }
    }
  });

  test('the audit log is for admins only', async () => {
    const audit = registry.find((r) => r.url === '/api/v1/projects/:projectId/audit');
    assert.deepEqual(audit?.roles, ['admin']);
    for (const p of principals.filter((x) => x.own === 'A')) {
      const res = await req(p, 'GET', `/api/v1/projects/${P.A}/audit`);
      if (p.role === 'admin') expectStatus(res, 200, p.label);
      else {
        expectStatus(res, 403, p.label);
        assert.ok(!res.body.includes('"items"'));
      }
    }
  });

  test('API tokens are managed by admins only: the others cannot list, create or revoke one', async () => {
    const tokenRoutes = registry.filter((r) => r.url.startsWith('/api/v1/projects/:projectId/tokens'));
    assert.equal(tokenRoutes.length, 3);
    for (const r of tokenRoutes) assert.deepEqual(r.roles, ['admin'], key(r));
    const before = await snapshot();
    for (const p of principals.filter((x) => x.own === 'A' && x.role !== 'admin')) {
      const list = await req(p, 'GET', `/api/v1/projects/${P.A}/tokens`);
      expectStatus(list, 403, `list as ${p.label}`);
      assert.ok(!list.body.includes('"items"'));
      expectStatus(
        await req(p, 'POST', `/api/v1/projects/${P.A}/tokens`, { name: 'Eskalacja', role: 'admin' }),
        403,
        `create as ${p.label}`,
      );
      const victim = before.tokens.find((t) => t.project_id === P.A && t.revoked_at === null)!;
      expectStatus(await req(p, 'DELETE', `/api/v1/projects/${P.A}/tokens/${victim.id}`), 403, `revoke as ${p.label}`);
    }
    assert.deepEqual(await snapshot(), before);
  });

  test('a manager sees unassigned dialogs and those they are or were responsible for — nothing else', async () => {
    const list = async (p: Principal) => {
      const res = await req(p, 'GET', `/api/v1/projects/${P.A}/dialogs?status=all&limit=200`);
      expectStatus(res, 200, p.label);
      return (res.json() as { items: { id: number }[] }).items.map((i) => i.id).sort((x, y) => x - y);
    };
    const sorted = (ids: number[]) => [...ids].sort((x, y) => x - y);
    const allA = sorted([
      d.unassigned,
      d.m1Open,
      d.m2Open,
      d.transferred,
      d.closedM1,
      d.closedM2,
      d.closedTransferred,
      d.closedUnassigned,
    ]);
    assert.deepEqual(await list(principal('admin session')), allA);
    assert.deepEqual(await list(principal('supervisor session')), allA);
    assert.deepEqual(await list(principal('supervisor token')), allA);
    assert.deepEqual(
      await list(principal('manager session')),
      sorted([d.unassigned, d.m1Open, d.transferred, d.closedM1, d.closedTransferred, d.closedUnassigned]),
    );
    // A manager token is nobody in particular: unassigned dialogs only.
    assert.deepEqual(await list(principal('manager token')), sorted([d.unassigned, d.closedUnassigned]));

    // The same rule holds for each dialog's detail and history.
    const m1 = principal('manager session');
    for (const id of [d.unassigned, d.m1Open, d.transferred, d.closedM1, d.closedTransferred, d.closedUnassigned]) {
      expectStatus(await req(m1, 'GET', dialogUrl(id)), 200, `dialog ${id}`);
      expectStatus(await req(m1, 'GET', dialogUrl(id, '/messages')), 200, `messages of ${id}`);
    }
    const missing = errorOf(await req(m1, 'GET', dialogUrl(MISSING_ID)));
    const missingMessages = errorOf(await req(m1, 'GET', dialogUrl(MISSING_ID, '/messages')));
    for (const id of [d.m2Open, d.closedM2]) {
      const res = await req(m1, 'GET', dialogUrl(id));
      expectStatus(res, 404, `dialog ${id} of another manager`);
      assert.deepEqual(errorOf(res), missing);
      const msgs = await req(m1, 'GET', dialogUrl(id, '/messages'));
      expectStatus(msgs, 404, `messages of ${id} of another manager`);
      assert.deepEqual(errorOf(msgs), missingMessages);
    }
    // Filtering by the other manager does not widen the view.
    const filtered = await req(m1, 'GET', `/api/v1/projects/${P.A}/dialogs?status=all&managerId=${u.m2.id}`);
    assert.deepEqual(
      sorted((filtered.json() as { items: { id: number }[] }).items.map((i) => i.id)),
      sorted([d.transferred, d.closedTransferred]),
    );
  });

  test("a manager cannot close, assign or reopen another manager's dialog: 404 when hidden, 403 when visible", async () => {
    const m1 = principal('manager session');
    const before = await snapshot();
    // Hidden (never theirs): exactly like a missing dialog.
    const cases: [string, number, object][] = [
      ['/close', d.m2Open, { reason: 'not mine' }],
      ['/assign', d.m2Open, { managerId: u.m1.id }],
      ['/reopen', d.closedM2, {}],
    ];
    for (const [verb, id, body] of cases) {
      const res = await req(m1, 'POST', dialogUrl(id, verb), body);
      expectStatus(res, 404, `${verb} on a hidden dialog`);
      assert.deepEqual(errorOf(res), errorOf(await req(m1, 'POST', dialogUrl(MISSING_ID, verb), body)));
    }
    // Visible because they were responsible once, but now another manager's: forbidden.
    const visible: [string, number, object][] = [
      ['/close', d.transferred, { reason: 'not mine any more' }],
      ['/assign', d.transferred, { managerId: u.m1.id }],
      ['/reopen', d.closedTransferred, {}],
    ];
    for (const [verb, id, body] of visible) {
      const res = await req(m1, 'POST', dialogUrl(id, verb), body);
      expectStatus(res, 403, `${verb} on a dialog transferred away`);
      assert.equal(errorOf(res).code, 'forbidden');
    }
    // Taking an unassigned dialog is for oneself only.
    const pushy = await req(m1, 'POST', dialogUrl(d.unassigned, '/assign'), { managerId: u.m2.id });
    expectStatus(pushy, 403, 'assigning an unassigned dialog to someone else');
    // Assigning to someone outside the project is a bad request, for a supervisor too.
    const stranger = await req(principal('supervisor session'), 'POST', dialogUrl(d.m2Open, '/assign'), {
      managerId: u.adminB.id,
    });
    expectStatus(stranger, 400, 'assigning to a member of another project');
    assert.deepEqual(await snapshot(), before);
  });

  test('a manager takes an unassigned dialog, transfers it, and still sees it afterwards', async () => {
    const m1 = principal('manager session');
    const t0 = Date.parse('2026-02-03T09:00:00Z');
    const id = (
      await insertDialog(store(), {
        projectId: P.A,
        status: 'new',
        createdAt: t0,
        clientName: 'Nowy klient',
        messages: [{ direction: 'in', text: 'Halo?', at: t0 }],
      })
    ).id;
    const take = await req(m1, 'POST', dialogUrl(id, '/assign'), { managerId: u.m1.id });
    expectStatus(take, 200, 'take');
    assert.equal((await dialogRow(id)).manager_id, u.m1.id);
    const transfer = await req(m1, 'POST', dialogUrl(id, '/assign'), { managerId: u.m2.id });
    expectStatus(transfer, 200, 'transfer');
    assert.equal((await dialogRow(id)).manager_id, u.m2.id);

    // Was responsible earlier: still in their log and readable...
    expectStatus(await req(m1, 'GET', dialogUrl(id)), 200, 'detail after transfer');
    const list = await req(m1, 'GET', `/api/v1/projects/${P.A}/dialogs?status=open`);
    assert.ok((list.json() as { items: { id: number }[] }).items.some((i) => i.id === id));
    // ...but no longer theirs to close.
    const before = await dialogRow(id);
    expectStatus(await req(m1, 'POST', dialogUrl(id, '/close'), {}), 403, 'close after transfer');
    assert.deepEqual(await dialogRow(id), before);

    // The new owner can; and a supervisor can act on anyone's dialog.
    const m2token = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: u.m2.email, password: TEST_PASSWORD },
    });
    const m2: Principal = {
      label: 'second manager',
      role: 'manager',
      kind: 'session',
      own: 'A',
      cookie: String(m2token.headers['set-cookie']).split(';')[0]!,
      csrf: (m2token.json() as { csrfToken: string }).csrfToken,
    };
    expectStatus(await req(m2, 'POST', dialogUrl(id, '/close'), { reason: 'done' }), 200, 'close by the owner');
    expectStatus(
      await req(principal('supervisor session'), 'POST', dialogUrl(id, '/reopen'), {}),
      200,
      'reopen by a supervisor',
    );
    expectStatus(
      await req(principal('admin token'), 'POST', dialogUrl(id, '/assign'), { managerId: u.m1.id }),
      200,
      'assign by admin',
    );
    assert.equal((await dialogRow(id)).manager_id, u.m1.id);
  });

  test('a manager closes and reopens their own and unassigned dialogs; a manager token cannot reopen', async () => {
    const m1 = principal('manager session');
    const t0 = Date.parse('2026-02-04T09:00:00Z');
    const mine = await insertDialog(store(), {
      projectId: P.A,
      status: 'open',
      managerId: u.m1.id,
      createdAt: t0,
      clientName: 'Mój klient',
    });
    const nobodys = await insertDialog(store(), {
      projectId: P.A,
      status: 'closed',
      managerId: null,
      createdAt: t0,
      clientName: 'Niczyj klient',
    });
    expectStatus(await req(m1, 'POST', dialogUrl(mine.id, '/close'), { reason: 'załatwione' }), 200, 'close own');
    const closed = await dialogRow(mine.id);
    assert.equal(closed.status, 'closed');
    assert.equal(closed.closed_by, u.m1.id);
    assert.equal(closed.close_reason, 'załatwione');

    const before = await snapshot();
    const byToken = await req(principal('manager token'), 'POST', dialogUrl(nobodys.id, '/reopen'), {});
    expectStatus(byToken, 403, 'reopen by a manager token');
    assert.deepEqual(await snapshot(), before);

    expectStatus(await req(m1, 'POST', dialogUrl(mine.id, '/reopen'), {}), 200, 'reopen own');
    assert.equal((await dialogRow(mine.id)).status, 'open');
    expectStatus(await req(m1, 'POST', dialogUrl(nobodys.id, '/reopen'), {}), 200, 'reopen unassigned');
    assert.equal((await dialogRow(nobodys.id)).status, 'new');
  });

  test('reopening when the client already has an open dialog is refused and changes nothing', async () => {
    const t0 = Date.parse('2026-02-05T09:00:00Z');
    const old = await insertDialog(store(), {
      projectId: P.A,
      status: 'closed',
      managerId: u.m1.id,
      createdAt: t0,
      clientName: 'Wraca',
    });
    const current = await insertDialog(store(), {
      projectId: P.A,
      status: 'new',
      sameClientAs: old,
      createdAt: t0 + 3600_000,
      clientName: 'Wraca',
    });
    const before = await snapshot();
    const res = await req(principal('manager session'), 'POST', dialogUrl(old.id, '/reopen'), {});
    expectStatus(res, 409, 'reopen with another open dialog');
    assert.match(errorOf(res).message, new RegExp(`\\b${current.id}\\b`));
    assert.deepEqual(await snapshot(), before);
  });

  test('members are listed per project; managers do not see emails', async () => {
    const asManager = await req(principal('manager session'), 'GET', `/api/v1/projects/${P.A}/users`);
    expectStatus(asManager, 200, 'users as manager');
    const items = (asManager.json() as { items: { id: number; email?: string }[] }).items;
    assert.deepEqual(
      items.map((i) => i.id).sort((a, b) => a - b),
      [u.adminA.id, u.supervisorA.id, u.m1.id, u.m2.id].sort((a, b) => a - b),
    );
    assert.ok(items.every((i) => i.email === undefined));
    const asAdmin = await req(principal('admin session'), 'GET', `/api/v1/projects/${P.A}/users`);
    assert.ok((asAdmin.json() as { items: { email?: string }[] }).items.every((i) => typeof i.email === 'string'));
  });
});
