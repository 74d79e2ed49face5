import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deleteExpiredIdempotencyKeys, IDEMPOTENCY_TTL_MS } from '../services/idempotency.js';
import { insertDialog } from '../testing/fixtures.js';
import { appContext, buildTestApp, createProject, createToken, forEachStore } from '../testing/harness.js';

/**
 * `Idempotency-Key` on the sending requests (services/idempotency.ts): a repeat answers with the
 * message the first request created and sends nothing more; the key binds the request and the caller
 * and lasts 24 hours; a race of repeats sends once; bad keys are refused by name, writing nothing.
 */

interface Answer {
  status: number;
  body: { id?: number; error?: { code: string; message: string; fields?: { field: string }[] } } & Record<
    string,
    unknown
  >;
  replayed: boolean;
}

forEachStore('idempotency keys', (env) => {
  let now = Date.parse('2026-11-24T10:00:00Z');
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  let projectId: number;
  let token: string;
  let otherToken: string;

  before(async () => {
    app = await buildTestApp(env.ts.store, () => now);
    projectId = await createProject(env.ts.store, 'idempotency');
    token = await createToken(env.ts.store, projectId, 'admin');
    otherToken = await createToken(env.ts.store, projectId, 'supervisor');
  });
  after(async () => {
    await app?.fastify.close();
  });

  const post = async (url: string, payload: unknown, key?: string, bearer = token): Promise<Answer> => {
    const res = await app.fastify.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}${url}`,
      headers: {
        authorization: `Bearer ${bearer}`,
        'content-type': 'application/json',
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      },
      payload: payload as object,
    });
    return { status: res.statusCode, body: res.json(), replayed: res.headers['idempotent-replayed'] === 'true' };
  };
  const dialog = async (name: string) =>
    (await insertDialog(env.ts.store, { projectId, status: 'new', clientName: name, createdAt: now - 60_000 })).id;
  const outgoing = async (dialogId: number) => {
    const messages = await env.ts.store.db
      .selectFrom('messages')
      .select('id')
      .where('dialog_id', '=', dialogId)
      .where('direction', '=', 'out')
      .execute();
    const outbox = await env.ts.store.db.selectFrom('outbox').select('id').where('dialog_id', '=', dialogId).execute();
    return { messages: messages.length, outbox: outbox.length };
  };

  test('a repeated reply answers with the first message and sends nothing more', async () => {
    const d = await dialog('Ala');
    const first = await post(`/dialogs/${d}/reply`, { text: 'Dzień dobry' }, 'retry-1');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.replayed, false);
    const again = await post(`/dialogs/${d}/reply`, { text: 'Dzień dobry' }, 'retry-1');
    assert.equal(again.status, 201);
    assert.equal(again.replayed, true);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.text, 'Dzień dobry');
    assert.deepEqual(await outgoing(d), { messages: 1, outbox: 1 });
    // Without a key, the same request is another message, as before.
    assert.equal((await post(`/dialogs/${d}/reply`, { text: 'Dzień dobry' })).status, 201);
    assert.deepEqual(await outgoing(d), { messages: 2, outbox: 2 });
  });

  test('the key binds path and body (409 naming the header) and belongs to its caller', async () => {
    const d = await dialog('Basia');
    const e = await dialog('Celina');
    const first = await post(`/dialogs/${d}/reply`, { text: 'Pierwsza' }, 'bound-1');
    assert.equal(first.status, 201);
    const otherBody = await post(`/dialogs/${d}/reply`, { text: 'Inna' }, 'bound-1');
    assert.equal(otherBody.status, 409);
    assert.equal(otherBody.body.error?.code, 'conflict');
    assert.match(otherBody.body.error?.message ?? '', /Idempotency-Key/);
    const otherPath = await post(`/dialogs/${e}/reply`, { text: 'Pierwsza' }, 'bound-1');
    assert.equal(otherPath.status, 409);
    assert.deepEqual(await outgoing(e), { messages: 0, outbox: 0 });
    // Another token's key of the same name is its own.
    const other = await post(`/dialogs/${d}/reply`, { text: 'Pierwsza' }, 'bound-1', otherToken);
    assert.equal(other.status, 201);
    assert.equal(other.replayed, false);
    assert.notEqual(other.body.id, first.body.id);
  });

  test('a bad key is refused naming the header, and nothing is written', async () => {
    const d = await dialog('Dorota');
    for (const key of ['', 'with space', 'x'.repeat(256), 'zażółć']) {
      const r = await post(`/dialogs/${d}/reply`, { text: 'Hej' }, key);
      assert.equal(r.status, 400, `key ${JSON.stringify(key)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error?.code, 'validation_failed');
      assert.deepEqual(
        r.body.error?.fields?.map((f) => f.field),
        ['header.Idempotency-Key'],
      );
    }
    assert.deepEqual(await outgoing(d), { messages: 0, outbox: 0 });
  });

  test('repeats racing each other: one message, every answer the same', async () => {
    const d = await dialog('Ewa');
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => post(`/dialogs/${d}/reply`, { text: 'Raz' }, 'race-1')),
    );
    for (const a of answers) assert.equal(a.status, 201, JSON.stringify(a.body));
    assert.equal(new Set(answers.map((a) => a.body.id)).size, 1);
    assert.equal(answers.filter((a) => !a.replayed).length, 1, 'one request sent, the others were answered');
    assert.deepEqual(await outgoing(d), { messages: 1, outbox: 1 });
  });

  test('a repeat after the dialog was closed still answers with the message; after 24 hours the key is free', async () => {
    const d = await dialog('Fiona');
    const first = await post(`/dialogs/${d}/reply`, { text: 'Zamykamy' }, 'late-1');
    assert.equal(first.status, 201);
    assert.equal((await post(`/dialogs/${d}/close`, {})).status, 200);
    const again = await post(`/dialogs/${d}/reply`, { text: 'Zamykamy' }, 'late-1');
    assert.equal(again.status, 201);
    assert.equal(again.body.id, first.body.id);
    assert.equal((await post(`/dialogs/${d}/reopen`, {})).status, 200);
    now += IDEMPOTENCY_TTL_MS + 1000;
    const fresh = await post(`/dialogs/${d}/reply`, { text: 'Zamykamy' }, 'late-1');
    assert.equal(fresh.status, 201);
    assert.equal(fresh.replayed, false);
    assert.notEqual(fresh.body.id, first.body.id);
    // The hourly clean-up removes keys past their 24 hours, and only those.
    now += IDEMPOTENCY_TTL_MS + 1000;
    const kept = await post(`/dialogs/${d}/reply`, { text: 'Jeszcze' }, 'late-2');
    assert.equal(kept.status, 201);
    const removed = await deleteExpiredIdempotencyKeys({ ...appContext(env.ts.store), clock: () => now });
    assert.ok(removed >= 1, `removed ${removed}`);
    const keys = await env.ts.store.db
      .selectFrom('idempotency_keys')
      .select('idempotency_key')
      .where('project_id', '=', projectId)
      .execute();
    assert.deepEqual(
      keys.map((k) => k.idempotency_key),
      ['late-2'],
    );
  });

  test('starting a dialog: a repeat answers with the same dialog and message', async () => {
    const d = await insertDialog(env.ts.store, {
      projectId,
      status: 'closed',
      clientName: 'Gosia',
      createdAt: now,
      closedAt: now,
    });
    const identity = await env.ts.store.db
      .selectFrom('client_identities')
      .select('external_id')
      .where('id', '=', d.identityId)
      .executeTakeFirstOrThrow();
    const body = { channelId: d.channelId, to: identity.external_id, text: 'Wracamy z odpowiedzią' };
    const first = await post('/dialogs', body, 'start-1');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.created, true);
    const again = await post('/dialogs', body, 'start-1');
    assert.equal(again.status, 201);
    assert.equal(again.replayed, true);
    assert.equal(again.body.created, true, 'as the first answer said');
    assert.deepEqual((again.body.dialog as { id: number }).id, (first.body.dialog as { id: number }).id);
    assert.deepEqual((again.body.message as { id: number }).id, (first.body.message as { id: number }).id);
    const dialogs = await env.ts.store.db
      .selectFrom('dialogs')
      .select('id')
      .where('identity_id', '=', d.identityId)
      .execute();
    assert.equal(dialogs.length, 2, 'the closed one and one new, not two new');
  });

  test('the OpenAPI document lists the header on the sending requests', async () => {
    const doc = (await app.fastify.inject('/api/openapi.json')).json() as {
      paths: Record<string, Record<string, { parameters: { name: string; in: string }[] }>>;
    };
    for (const [path, method] of [
      ['/api/v1/projects/{projectId}/dialogs/{id}/reply', 'post'],
      ['/api/v1/projects/{projectId}/dialogs', 'post'],
    ] as const) {
      assert.ok(
        doc.paths[path]?.[method]?.parameters.some((p) => p.name === 'Idempotency-Key' && p.in === 'header'),
        `${method} ${path}`,
      );
    }
  });
});
