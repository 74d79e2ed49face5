import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../http/app.js';
import type { DomainEvent } from '../realtime/bus.js';
import { PgNotifyBus } from '../realtime/pg-bus.js';
import { openStore, type Store } from '../store/open.js';
import {
  buildTestApp,
  createProject,
  createToken,
  createUser,
  forEachStore,
  projectContext,
  TEST_PASSWORD,
  testConfig,
} from '../testing/harness.js';
import { listApiTokens, revokeApiToken } from './api-tokens.js';
import { sha256 } from './accounts.js';

/**
 * API token management (SPEC §4.9) over HTTP as an integration or the admin page uses it: an admin
 * creates a token (answered once), the token works, the list shows it without any secret, revoking
 * it makes it answer 401 — through the `tokens.changed` event that per-node lookup caches listen to,
 * so the revoke tests below are the ones that guard such a cache. Admins only; another project's
 * token is a 404 like a missing one; every change is audited.
 */

type Headers = Record<string, string>;
interface TokenView {
  id: number;
  name: string;
  role: string;
  createdAt: string;
  createdBy: { id: number; name: string } | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const waitFor = async (cond: () => Promise<boolean>, what: string, ms = 5000) => {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

forEachStore('API tokens', (env) => {
  let store: Store;
  let app: FastifyInstance;
  let bus: Awaited<ReturnType<typeof buildTestApp>>['app']['bus'];
  let projectId: number;
  let otherProjectId: number;
  let adminUser: { id: number; email: string; name: string };
  let admin: Headers;
  let supervisor: Headers;
  let manager: Headers;
  let supervisorToken: string;
  let managerToken: string;
  let foreignTokenId: number;
  const events: DomainEvent[] = [];
  let now = Date.parse('2026-03-02T09:00:00Z');
  const clock = () => now;

  const errorOf = (res: LightMyRequestResponse) =>
    (res.json() as { error: { code: string; message: string; fields?: { field: string; message: string }[] } }).error;
  const login = async (email: string): Promise<Headers> => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: TEST_PASSWORD },
    });
    assert.equal(res.statusCode, 200, `login ${email}: ${res.body}`);
    const raw = res.headers['set-cookie'];
    const cookie = String(Array.isArray(raw) ? raw[0] : raw).split(';')[0]!;
    return { cookie, 'x-csrf-token': (res.json() as { csrfToken: string }).csrfToken };
  };
  const bearer = (token: string): Headers => ({ authorization: `Bearer ${token}` });
  const base = () => `/api/v1/projects/${projectId}/tokens`;
  const create = (payload: unknown, as = admin) =>
    app.inject({ method: 'POST', url: base(), headers: as, payload: payload as object });
  const list = async (as = admin) => {
    const res = await app.inject({ method: 'GET', url: base(), headers: as });
    assert.equal(res.statusCode, 200, res.body);
    return res;
  };
  const revoke = (id: number, as = admin, project = projectId) =>
    app.inject({ method: 'DELETE', url: `/api/v1/projects/${project}/tokens/${id}`, headers: as });
  const dialogs = (token: string) =>
    app.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/dialogs`, headers: bearer(token) });
  const auditRows = () =>
    store.db
      .selectFrom('audit_log')
      .select(['project_id', 'action', 'actor_type', 'actor_id', 'actor_name', 'target_type', 'target_id', 'details'])
      .where('action', 'like', 'token.%')
      .orderBy('id')
      .execute();
  const tokenRows = () => store.db.selectFrom('api_tokens').selectAll().orderBy('project_id').orderBy('id').execute();

  before(async () => {
    store = env.ts.store;
    const built = await buildTestApp(store, clock);
    app = built.fastify;
    bus = built.app.bus;
    bus.subscribe((e) => events.push(e));
    projectId = await createProject(store, 'Sklep Rowerowy');
    otherProjectId = await createProject(store, 'Kwiaciarnia');
    adminUser = await createUser(store, projectId, 'admin', 'Agata Admin');
    const s = await createUser(store, projectId, 'supervisor', 'Stefan Kierownik');
    const m = await createUser(store, projectId, 'manager', 'Marek Menedżer');
    admin = await login(adminUser.email);
    supervisor = await login(s.email);
    manager = await login(m.email);
    supervisorToken = await createToken(store, projectId, 'supervisor');
    managerToken = await createToken(store, projectId, 'manager');
    await createToken(store, otherProjectId, 'admin');
    foreignTokenId = (
      await store.db
        .selectFrom('api_tokens')
        .select('id')
        .where('project_id', '=', otherProjectId)
        .executeTakeFirstOrThrow()
    ).id;
  });
  after(async () => {
    await app?.close();
  });

  test('create → the token works → listed without secrets → revoke → the same token gets 401; audited', async () => {
    events.length = 0;
    const auditBefore = (await auditRows()).length;
    const res = await create({ name: '  CRM Bitrix  ', role: 'supervisor' });
    assert.equal(res.statusCode, 201, res.body);
    const created = res.json() as TokenView & { token: string };
    assert.match(created.token, new RegExp(`^dz_${projectId}_[A-Za-z0-9_-]{43}$`));
    assert.deepEqual(
      { ...created, token: undefined },
      {
        id: created.id,
        name: 'CRM Bitrix',
        role: 'supervisor',
        createdAt: new Date(now).toISOString(),
        createdBy: { id: adminUser.id, name: 'Agata Admin' },
        lastUsedAt: null,
        revokedAt: null,
        token: undefined,
      },
    );
    assert.deepEqual(events, [{ type: 'tokens.changed', projectId }]);

    // The token works as a supervisor of this project.
    now += 1000;
    const used = await dialogs(created.token);
    assert.equal(used.statusCode, 200, used.body);

    // The list shows it (with its last use), and never the token or its hash.
    const listed = await list();
    const items = (listed.json() as { items: TokenView[] }).items;
    const mine = items.find((t) => t.id === created.id);
    assert.deepEqual(mine, {
      id: created.id,
      name: 'CRM Bitrix',
      role: 'supervisor',
      createdAt: created.createdAt,
      createdBy: { id: adminUser.id, name: 'Agata Admin' },
      lastUsedAt: new Date(now).toISOString(),
      revokedAt: null,
    });
    assert.ok(!listed.body.includes(created.token), 'the token is not listed');
    assert.ok(!listed.body.includes(sha256(created.token)), 'the hash is not listed');
    assert.ok(!listed.body.includes('token_hash') && !listed.body.includes('tokenHash'));
    // Tokens made on the command line have no creator.
    assert.ok(items.some((t) => t.role === 'manager' && t.createdBy === null));
    assert.ok(
      items.every((t) => t.id !== foreignTokenId),
      "another project's tokens are not listed",
    );

    // Revoke: 204, then the same token — used a moment ago — is refused.
    events.length = 0;
    now += 1000;
    const r = await revoke(created.id);
    assert.equal(r.statusCode, 204, r.body);
    assert.equal(r.body, '');
    assert.deepEqual(events, [{ type: 'tokens.changed', projectId }], 'the revoke is published after commit');
    const refused = await dialogs(created.token);
    assert.equal(refused.statusCode, 401, refused.body);
    assert.equal(errorOf(refused).code, 'unauthenticated');
    const me = await app.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(created.token) });
    assert.equal(me.statusCode, 401);

    // It stays listed as revoked, after the active ones.
    const after = (await list()).json() as { items: TokenView[] };
    const revokedView = after.items.find((t) => t.id === created.id);
    assert.equal(revokedView?.revokedAt, new Date(now).toISOString());
    assert.equal(after.items.at(-1)?.id, created.id, 'revoked tokens come last');

    // Revoking again is the same 204 and changes nothing more.
    now += 1000;
    assert.equal((await revoke(created.id)).statusCode, 204);
    const row = await store.db
      .selectFrom('api_tokens')
      .select('revoked_at')
      .where('project_id', '=', projectId)
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    assert.equal(row.revoked_at, now - 1000, 'the first revoke time is kept');

    const audit = (await auditRows()).slice(auditBefore);
    assert.deepEqual(
      audit.map((a) => ({ ...a, details: JSON.parse(a.details) as unknown })),
      [
        {
          project_id: projectId,
          action: 'token.create',
          actor_type: 'user',
          actor_id: adminUser.id,
          actor_name: 'Agata Admin',
          target_type: 'api_token',
          target_id: String(created.id),
          details: { name: 'CRM Bitrix', role: 'supervisor' },
        },
        {
          project_id: projectId,
          action: 'token.revoke',
          actor_type: 'user',
          actor_id: adminUser.id,
          actor_name: 'Agata Admin',
          target_type: 'api_token',
          target_id: String(created.id),
          details: { name: 'CRM Bitrix', role: 'supervisor' },
        },
      ],
      'one entry per change, none for the repeated revoke',
    );
    const all = await store.db.selectFrom('audit_log').select(['details']).execute();
    assert.ok(!JSON.stringify(all).includes(created.token), 'the audit log does not keep the token');
  });

  test('an admin token manages tokens and may revoke itself (rotation); audited as the token', async () => {
    const first = (await create({ name: 'Automat', role: 'admin' })).json() as TokenView & { token: string };
    // The integration rotates: it makes its successor with its own credential...
    const res = await create({ name: 'Automat 2', role: 'admin' }, bearer(first.token));
    assert.equal(res.statusCode, 201, res.body);
    const second = res.json() as TokenView & { token: string };
    assert.equal(second.createdBy, null, 'made by a token, not by a member');
    // ...then revokes itself, and from then on only the successor works.
    const self = await revoke(first.id, bearer(first.token));
    assert.equal(self.statusCode, 204, self.body);
    assert.equal((await dialogs(first.token)).statusCode, 401);
    assert.equal((await dialogs(second.token)).statusCode, 200);
    const audit = await auditRows();
    const byToken = audit.filter((a) => a.actor_type === 'token');
    assert.deepEqual(
      byToken.map((a) => [a.action, a.actor_id, a.actor_name, a.target_id]),
      [
        ['token.create', first.id, 'Automat', String(second.id)],
        ['token.revoke', first.id, 'Automat', String(first.id)],
      ],
    );
  });

  test('supervisors and managers (sessions and tokens) get 403 on every token endpoint; nothing changes', async () => {
    const victim = (await create({ name: 'Do zostawienia', role: 'manager' })).json() as TokenView;
    const rowsBefore = await tokenRows();
    const auditBefore = await auditRows();
    for (const [label, headers] of [
      ['supervisor session', supervisor],
      ['manager session', manager],
      ['supervisor token', bearer(supervisorToken)],
      ['manager token', bearer(managerToken)],
    ] as const) {
      const l = await app.inject({ method: 'GET', url: base(), headers });
      const c = await create({ name: 'Nie wolno', role: 'admin' }, headers);
      const d = await revoke(victim.id, headers);
      for (const [what, res] of [
        ['list', l],
        ['create', c],
        ['revoke', d],
      ] as const) {
        assert.equal(res.statusCode, 403, `${what} as ${label}: ${res.body}`);
        assert.equal(errorOf(res).code, 'forbidden');
      }
    }
    assert.deepEqual(
      (await tokenRows()).map((r) => ({ ...r, last_used_at: null })),
      rowsBefore.map((r) => ({ ...r, last_used_at: null })),
    );
    assert.deepEqual(await auditRows(), auditBefore);
  });

  test("another project's token id is a 404 exactly like a missing id, and stays active", async () => {
    const foreign = await revoke(foreignTokenId);
    const missing = await revoke(987654321);
    assert.equal(foreign.statusCode, 404, foreign.body);
    assert.equal(missing.statusCode, 404);
    const { requestId: _a, ...a } = errorOf(foreign) as { requestId?: string };
    const { requestId: _b, ...b } = errorOf(missing) as { requestId?: string };
    assert.deepEqual(a, b);
    const row = await store.db
      .selectFrom('api_tokens')
      .select('revoked_at')
      .where('project_id', '=', otherProjectId)
      .where('id', '=', foreignTokenId)
      .executeTakeFirstOrThrow();
    assert.equal(row.revoked_at, null);
    // The other project's path is a 404 too (the admin is not a member there).
    const otherPath = await revoke(foreignTokenId, admin, otherProjectId);
    assert.equal(otherPath.statusCode, 404);
    // The service refuses it the same way, whoever calls it.
    const ctx = projectContext(store, projectId, { type: 'system', name: 'test' });
    await assert.rejects(revokeApiToken(ctx, foreignTokenId), { code: 'not_found' });
  });

  test('bad input → 400 naming each field; nothing is created', async () => {
    const before = (await tokenRows()).length;
    const cases: [unknown, string[]][] = [
      [{ role: 'manager' }, ['body.name']],
      [{ name: '   ', role: 'manager' }, ['body.name']],
      [{ name: 'x'.repeat(101), role: 'manager' }, ['body.name']],
      [{ name: 'CRM', role: 'owner' }, ['body.role']],
      [{ name: 'CRM' }, ['body.role']],
      [{ name: 42, role: 'admin' }, ['body.name']],
      [{}, ['body.name', 'body.role']],
      [{ name: 'CRM', role: 'admin', token: 'dz_1_mine' }, ['body.token']],
    ];
    for (const [payload, fields] of cases) {
      const res = await create(payload);
      assert.equal(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
      const err = errorOf(res);
      assert.equal(err.code, 'validation_failed');
      assert.deepEqual(err.fields?.map((f) => f.field).sort(), fields, JSON.stringify(payload));
    }
    const badId = await app.inject({ method: 'DELETE', url: `${base()}/abc`, headers: admin });
    assert.equal(badId.statusCode, 400);
    assert.deepEqual(
      errorOf(badId).fields?.map((f) => f.field),
      ['path.id'],
    );
    assert.equal((await tokenRows()).length, before);
  });

  test('the service lists what the HTTP API lists, and the OpenAPI document has the three operations', async () => {
    const ctx = projectContext(store, projectId, { type: 'system', name: 'test' });
    const { items } = await listApiTokens(ctx);
    const http = ((await list()).json() as { items: TokenView[] }).items;
    assert.deepEqual(items, http);
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    assert.deepEqual(Object.keys(doc.paths['/api/v1/projects/{projectId}/tokens'] ?? {}).sort(), ['get', 'post']);
    assert.deepEqual(Object.keys(doc.paths['/api/v1/projects/{projectId}/tokens/{id}'] ?? {}), ['delete']);
  });

  // Two nodes on one PostgreSQL, each with its own LISTEN/NOTIFY bus: a token used on node B (where a
  // per-node cache would remember it) is refused on B once it is revoked on node A.
  test('a token revoked on node A is refused on node B', {
    skip: env.kind !== 'postgres' && 'PostgreSQL only',
  }, async () => {
    const storeB = await openStore({ databaseUrl: env.ts.location, dataDir: os.tmpdir(), poolSize: 3 });
    const busA = new PgNotifyBus({ connectionString: env.ts.location, pool: store.pgPool!, applicationName: 'tok-a' });
    const busB = new PgNotifyBus({ connectionString: env.ts.location, pool: storeB.pgPool!, applicationName: 'tok-b' });
    await busA.start();
    await busB.start();
    const seenB: DomainEvent[] = [];
    busB.subscribe((e) => seenB.push(e));
    const nodeA = await buildApp({ config: testConfig(), store, bus: busA, logger: false });
    const nodeB = await buildApp({ config: testConfig(), store: storeB, bus: busB, logger: false });
    try {
      const adminOnA = await (async () => {
        const res = await nodeA.fastify.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email: adminUser.email, password: TEST_PASSWORD },
        });
        const raw = res.headers['set-cookie'];
        return {
          cookie: String(Array.isArray(raw) ? raw[0] : raw).split(';')[0]!,
          'x-csrf-token': (res.json() as { csrfToken: string }).csrfToken,
        };
      })();
      const made = await nodeA.fastify.inject({
        method: 'POST',
        url: base(),
        headers: adminOnA,
        payload: { name: 'Dwa węzły', role: 'manager' },
      });
      assert.equal(made.statusCode, 201, made.body);
      const t = made.json() as TokenView & { token: string };
      const onB = () =>
        nodeB.fastify.inject({ method: 'GET', url: `/api/v1/projects/${projectId}/dialogs`, headers: bearer(t.token) });
      assert.equal((await onB()).statusCode, 200);
      assert.equal((await onB()).statusCode, 200);
      // The create's own tokens.changed may still be on its way: count only what follows the revoke.
      await waitFor(async () => seenB.some((e) => e.type === 'tokens.changed'), "the create's event on node B");
      seenB.length = 0;
      const r = await nodeA.fastify.inject({ method: 'DELETE', url: `${base()}/${t.id}`, headers: adminOnA });
      assert.equal(r.statusCode, 204, r.body);
      await waitFor(
        async () => seenB.some((e) => e.type === 'tokens.changed' && e.projectId === projectId),
        'tokens.changed on node B',
      );
      const refused = await onB();
      assert.equal(refused.statusCode, 401, refused.body);
    } finally {
      await nodeA.fastify.close();
      await nodeB.fastify.close();
      await busA.close();
      await busB.close();
      await storeB.close();
    }
  });
});
