import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Store } from '../../store/open.js';
import { buildTestApp, createProject, createUser, forEachStore, TEST_PASSWORD } from '../../testing/harness.js';

/** The webhook endpoints API (issue 7 §2) as an admin uses it; roles are covered by authorization.test.ts. */

type Headers = Record<string, string>;
interface ErrorBody {
  error: { code: string; fields?: { field: string; message: string }[] };
}

forEachStore('webhooks-out', (env) => {
  let store: Store;
  let app: FastifyInstance;
  let projectId: number;
  let otherProjectId: number;
  let admin: Headers;
  let otherAdmin: Headers;

  const login = async (email: string): Promise<Headers> => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email, password: TEST_PASSWORD },
    });
    assert.equal(res.statusCode, 200, res.body);
    const raw = res.headers['set-cookie'];
    const cookie = String(Array.isArray(raw) ? raw[0] : raw).split(';')[0]!;
    return { cookie, 'x-csrf-token': (res.json() as { csrfToken: string }).csrfToken };
  };
  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    payload?: object,
    as = admin,
    project = projectId,
  ) =>
    app.inject({
      method,
      url: `/api/v1/projects/${project}/webhooks${path}`,
      headers: as,
      ...(payload ? { payload } : {}),
    });
  const fieldsOf = (res: LightMyRequestResponse) => ((res.json() as ErrorBody).error.fields ?? []).map((f) => f.field);

  before(async () => {
    store = env.ts.store;
    app = (await buildTestApp(store)).fastify;
    projectId = await createProject(store, 'Sklep');
    otherProjectId = await createProject(store, 'Inny');
    admin = await login((await createUser(store, projectId, 'admin', 'Adam Admin')).email);
    otherAdmin = await login((await createUser(store, otherProjectId, 'admin', 'Olga Admin')).email);
  });
  after(async () => {
    await app?.close();
  });

  test('create answers the secret once; the list never shows it; it is stored sealed', async () => {
    const res = await call('POST', '', {
      url: 'https://crm.example/hooks',
      events: ['dialog.opened', 'dialog.closed'],
    });
    assert.equal(res.statusCode, 201, res.body);
    const created = res.json() as { id: number; secret: string; paused: boolean; enabled: boolean; events: string[] };
    assert.match(created.secret, /^whsec_[A-Za-z0-9_-]{20,}$/);
    assert.deepEqual(created.events, ['dialog.opened', 'dialog.closed']);
    assert.equal(created.enabled, true);
    assert.equal(created.paused, false);
    const list = await call('GET', '');
    assert.equal(list.statusCode, 200);
    assert.ok(!list.body.includes(created.secret));
    assert.ok(!('secret' in (list.json() as { items: object[] }).items[0]!));
    const row = await store.db
      .selectFrom('webhook_endpoints')
      .select('secret')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    assert.ok(!row.secret.includes(created.secret), 'sealed, not plain');
    const audit = await store.db
      .selectFrom('audit_log')
      .select('details')
      .where('project_id', '=', projectId)
      .where('action', '=', 'webhook.create')
      .execute();
    assert.equal(audit.length, 1);
    assert.ok(!audit[0]!.details.includes(created.secret));
  });

  test('validation errors name the field', async () => {
    let res = await call('POST', '', { url: 'ftp://crm.example/x', events: ['dialog.opened'] });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(fieldsOf(res), ['body.url']);
    res = await call('POST', '', { url: 'https://crm.example/x', events: [] });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(fieldsOf(res), ['body.events']);
    res = await call('POST', '', { url: 'nie url', events: ['dialog.deleted'] });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(fieldsOf(res).sort(), ['body.events.0', 'body.url']);
    res = await call('PATCH', '/1', { enabled: 'yes' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(fieldsOf(res), ['body.enabled']);
  });

  test('change, disable, delete; another project sees none of it (404)', async () => {
    const created = (await call('POST', '', { url: 'https://a.example/h', events: ['message.created'] })).json() as {
      id: number;
    };
    let res = await call('PATCH', `/${created.id}`, {
      url: 'https://b.example/h',
      events: ['message.status'],
      enabled: false,
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json() as { url: string; events: string[]; enabled: boolean }, {
      ...(res.json() as object),
      url: 'https://b.example/h',
      events: ['message.status'],
      enabled: false,
    });
    for (const [method, path] of [
      ['PATCH', `/${created.id}`],
      ['DELETE', `/${created.id}`],
      ['GET', `/${created.id}/deliveries`],
      ['POST', `/${created.id}/deliveries/1/redeliver`],
    ] as const) {
      const foreign = await call(
        method,
        path,
        method === 'PATCH' ? { enabled: true } : undefined,
        otherAdmin,
        otherProjectId,
      );
      assert.equal(foreign.statusCode, 404, `${method} ${path}`);
    }
    assert.equal((await call('GET', '', undefined, otherAdmin, otherProjectId)).json().items.length, 0);
    res = await call('GET', `/${created.id}/deliveries`);
    assert.deepEqual(res.json(), { items: [], nextBefore: null });
    res = await call('POST', `/${created.id}/deliveries/999/redeliver`);
    assert.equal(res.statusCode, 404);
    res = await call('DELETE', `/${created.id}`);
    assert.equal(res.statusCode, 204);
    assert.equal((await call('GET', `/${created.id}/deliveries`)).statusCode, 404);
  });
});
