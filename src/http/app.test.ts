import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../config.js';
import { buildTestApp, forEachStore } from '../testing/harness.js';

test('configuration: defaults, and every bad variable named at once', () => {
  const c = loadConfig({});
  assert.equal(c.port, 3000);
  assert.equal(c.dataDir, './data');
  assert.deepEqual(c.smsOutboundOnlyPrefixes, ['48799']);
  assert.equal(loadConfig({ PUBLIC_URL: 'https://desk.example.pl/' }).publicUrl, 'https://desk.example.pl');
  assert.throws(
    () =>
      loadConfig({
        PORT: '70000',
        DATABASE_URL: 'mysql://x',
        LOG_LEVEL: 'loud',
        TELEGRAM_API_URL: 'ftp://x',
        SECRET_KEY: 'short',
      }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map((p) => p.variable).sort(), [
        'DATABASE_URL',
        'LOG_LEVEL',
        'PORT',
        'SECRET_KEY',
        'TELEGRAM_API_URL',
      ]);
      assert.match(err.message, /PORT/);
      return true;
    },
  );
  assert.throws(() => loadConfig({ SMS_OUTBOUND_ONLY_PREFIXES: '48799,abc' }), /SMS_OUTBOUND_ONLY_PREFIXES/);
});

forEachStore('operations endpoints', (env) => {
  test('healthz, readyz, metrics, OpenAPI, and the one error body', async () => {
    const { fastify, registry } = await buildTestApp(env.ts.store);
    assert.deepEqual((await fastify.inject('/healthz')).json(), { status: 'ok' });
    const ready = await fastify.inject('/readyz');
    assert.equal(ready.statusCode, 200);
    assert.equal(ready.json().store, env.kind);
    const metrics = await fastify.inject('/metrics');
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /dziennik_http_request_duration_seconds_bucket\{.*route="\/readyz"/);
    assert.match(metrics.body, /dziennik_process_resident_memory_bytes/);

    const doc = (await fastify.inject('/api/openapi.json')).json();
    assert.equal(doc.openapi, '3.0.3');
    for (const r of registry) {
      const p = r.url.replace(/:(\w+)/g, '{$1}');
      assert.ok(doc.paths[p]?.[r.method.toLowerCase()], `${r.method} ${p} documented`);
    }
    const list = doc.paths['/api/v1/projects/{projectId}/dialogs'].get;
    const names = list.parameters.map((p: { name: string }) => p.name);
    for (const n of [
      'projectId',
      'status',
      'managerId',
      'from',
      'to',
      'channel',
      'source',
      'q',
      'sort',
      'order',
      'cursor',
      'limit',
    ]) {
      assert.ok(names.includes(n), `list documents ${n}`);
    }
    const limit = list.parameters.find((p: { name: string }) => p.name === 'limit');
    assert.equal(limit.schema.maximum, 200);

    const missing = await fastify.inject('/api/v1/nothing-here');
    assert.equal(missing.statusCode, 404);
    const body = missing.json();
    assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'requestId']);
    assert.equal(missing.headers['x-request-id'], body.error.requestId);
    const badJson = await fastify.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":',
    });
    assert.equal(badJson.statusCode, 400);
    assert.equal(badJson.json().error.code, 'validation_failed');
    await fastify.close();
  });
});
