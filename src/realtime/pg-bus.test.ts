import assert from 'node:assert/strict';
import os from 'node:os';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { buildApp } from '../http/app.js';
import { openStore, type Store } from '../store/open.js';
import { insertSealedChannel } from '../testing/fixtures.js';
import { createProject, createToken, forEachStore, testConfig } from '../testing/harness.js';
import type { DomainEvent } from './bus.js';
import { PgNotifyBus } from './pg-bus.js';

/**
 * Realtime across nodes (issue 6 §1): two apps on one PostgreSQL database, each with its own
 * LISTEN/NOTIFY bus, as two nodes behind a load balancer would be.
 */

const SKIP = 'LISTEN/NOTIFY is PostgreSQL only; SQLite runs one node with the in-process bus';
const BOT_TOKEN = '7000000001:AAE-pg-bus-test-token-00000000000000';
const WEBHOOK_SECRET = 'dz_pg-bus-test_0123456789';

const waitFor = async (cond: () => boolean, what: string, ms = 5000) => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

forEachStore('PostgreSQL LISTEN/NOTIFY bus', (env) => {
  if (env.kind !== 'postgres') {
    test('events across nodes', { skip: SKIP }, () => {});
    return;
  }
  let storeB: Store;
  let busA: PgNotifyBus;
  let busB: PgNotifyBus;
  let appA: Awaited<ReturnType<typeof buildApp>>;
  let appB: Awaited<ReturnType<typeof buildApp>>;
  const seenA: DomainEvent[] = [];
  const seenB: DomainEvent[] = [];

  before(async () => {
    storeB = await openStore({ databaseUrl: env.ts.location, dataDir: os.tmpdir(), poolSize: 3 });
    busA = new PgNotifyBus({
      connectionString: env.ts.location,
      pool: env.ts.store.pgPool!,
      applicationName: 'bus-test-a',
      minBackoffMs: 20,
    });
    busB = new PgNotifyBus({
      connectionString: env.ts.location,
      pool: storeB.pgPool!,
      applicationName: 'bus-test-b',
      minBackoffMs: 20,
    });
    await busA.start();
    await busB.start();
    busA.subscribe((e) => seenA.push(e));
    busB.subscribe((e) => seenB.push(e));
    appA = await buildApp({ config: testConfig(), store: env.ts.store, bus: busA, logger: false });
    appB = await buildApp({ config: testConfig(), store: storeB, bus: busB, logger: false });
  });
  after(async () => {
    await appA?.fastify.close();
    await appB?.fastify.close();
    await busA?.close();
    await busB?.close();
    await storeB?.close();
  });

  test('an event published on node A reaches B’s listeners and A’s own, each exactly once', async () => {
    seenA.length = 0;
    seenB.length = 0;
    const events: DomainEvent[] = [
      { type: 'dialog.created', projectId: 1, dialogId: 10 },
      { type: 'message.created', projectId: 1, dialogId: 10, messageId: 100 },
      { type: 'message.status', projectId: 1, dialogId: 10, messageId: 100 },
    ];
    for (const e of events) appA.app.bus.publish(e);
    // Not delivered locally before it came back through LISTEN: A sees it when B does.
    assert.equal(seenA.length, 0);
    await waitFor(() => seenA.length >= 3 && seenB.length >= 3, 'the events on both nodes');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(seenA, events);
    assert.deepEqual(seenB, events);
  });

  test('a payload over the NOTIFY limit is refused', () => {
    const big = { type: 'dialog.updated', projectId: 1, dialogId: 1, pad: 'x'.repeat(8000) } as DomainEvent;
    assert.throws(() => busA.publish(big), /8000/);
  });

  test('a killed LISTEN connection reconnects and emits resync', async () => {
    seenA.length = 0;
    seenB.length = 0;
    const { rows } = await env.ts.store.pgPool!.query(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = 'bus-test-a'`,
    );
    assert.equal(rows.length, 1);
    await waitFor(() => seenA.some((e) => e.type === 'bus.resync'), 'resync on A');
    assert.equal(busA.listening, true);
    assert.ok(!seenB.some((e) => e.type === 'bus.resync'), 'B was not disconnected');
    // Events flow again, both ways.
    appB.app.bus.publish({ type: 'dialog.updated', projectId: 1, dialogId: 11 });
    appA.app.bus.publish({ type: 'dialog.updated', projectId: 1, dialogId: 12 });
    await waitFor(
      () => seenA.filter((e) => e.type === 'dialog.updated').length === 2 && seenB.length === 2,
      'events after the reconnect',
    );
  });

  test('a NOTIFY that fails: this node resyncs at once, every node once a NOTIFY gets through again', async () => {
    // Node C's pool fails its first publish (a connection dropped under it); its LISTEN stays up.
    let failures = 1;
    const pool = env.ts.store.pgPool!;
    const flaky = new Proxy(pool, {
      get(target, prop, receiver) {
        if (prop === 'query') {
          return (...args: unknown[]) => {
            if (failures > 0) {
              failures--;
              return Promise.reject(new Error('Connection terminated unexpectedly'));
            }
            return (target.query as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const errors: string[] = [];
    const busC = new PgNotifyBus({
      connectionString: env.ts.location,
      pool: flaky,
      applicationName: 'bus-test-c',
      retryMs: 50,
      onError: (_err, what) => errors.push(what),
    });
    await busC.start();
    const seenC: DomainEvent[] = [];
    busC.subscribe((e) => seenC.push(e));
    try {
      const fromB = seenB.length;
      busC.publish({ type: 'dialog.updated', projectId: 7, dialogId: 71 });
      await waitFor(() => seenC.some((e) => e.type === 'bus.resync'), 'resync on node C');
      assert.deepEqual(errors, ['publish']);
      // Node B's LISTEN never dropped, yet it hears that it missed something, once the retry gets through.
      await waitFor(() => seenB.slice(fromB).some((e) => e.type === 'bus.resync'), 'resync on node B');
      assert.ok(
        !seenB.slice(fromB).some((e) => e.type === 'dialog.updated' && e.dialogId === 71),
        'the event was lost',
      );
      // Publishing works again, with no resync before the next event.
      busC.publish({ type: 'dialog.updated', projectId: 7, dialogId: 72 });
      await waitFor(() => seenB.some((e) => e.type === 'dialog.updated' && e.dialogId === 72), 'the next event on B');
      assert.equal(seenB.slice(fromB).filter((e) => e.type === 'bus.resync').length, 1);
    } finally {
      await busC.close();
    }
  });

  test('an inbound webhook received by node A reaches a WebSocket client on node B', async () => {
    const projectId = await createProject(env.ts.store, 'two nodes');
    const channelId = await insertSealedChannel(
      env.ts.store,
      projectId,
      'telegram',
      { botToken: BOT_TOKEN },
      { webhookSecret: WEBHOOK_SECRET },
    );
    const token = await createToken(env.ts.store, projectId, 'admin');
    await appB.fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = appB.fastify.server.address() as { port: number };
    const received: { type: string; dialogId?: number; messageId?: number }[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/projects/${projectId}/stream`, {
      headers: { authorization: `Bearer ${token}` },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data) => {
          const e = JSON.parse(String(data)) as (typeof received)[number];
          if (e.type === 'hello') resolve();
          else received.push(e);
        });
      });
      const res = await appA.fastify.inject({
        method: 'POST',
        url: `/webhooks/telegram/${channelId}`,
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
        payload: JSON.stringify({
          update_id: 5_000_001,
          message: {
            message_id: 42,
            from: { id: 4242, is_bot: false, first_name: 'Ola', language_code: 'pl' },
            chat: { id: 4242, type: 'private', first_name: 'Ola' },
            date: 1_795_000_000,
            text: 'Dzień dobry z węzła A',
          },
        }),
      });
      assert.equal(res.statusCode, 200);
      await waitFor(() => received.some((e) => e.type === 'message.created'), 'message.created on node B');
      const message = await env.ts.store.db
        .selectFrom('messages')
        .select(['id', 'dialog_id'])
        .where('project_id', '=', projectId)
        .executeTakeFirstOrThrow();
      assert.ok(received.some((e) => e.type === 'dialog.created' && e.dialogId === message.dialog_id));
      const created = received.filter((e) => e.type === 'message.created');
      assert.deepEqual(created, [{ type: 'message.created', dialogId: message.dialog_id, messageId: message.id }]);

      // A resync on B's bus reaches the socket as { type: 'resync' }.
      await env.ts.store.pgPool!.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bus-test-b'`,
      );
      await waitFor(() => received.some((e) => e.type === 'resync'), 'resync on the socket');
    } finally {
      ws.terminate();
    }
  });

  test('a token revoked through node A closes its stream on node B at once', async () => {
    const projectId = await createProject(env.ts.store, 'revoke across nodes');
    const admin = await createToken(env.ts.store, projectId, 'admin');
    if (!appB.fastify.server.listening) await appB.fastify.listen({ port: 0, host: '127.0.0.1' });
    const { port } = appB.fastify.server.address() as { port: number };
    const created = (
      await appA.fastify.inject({
        method: 'POST',
        url: `/api/v1/projects/${projectId}/tokens`,
        headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
        payload: { name: 'doomed', role: 'supervisor' },
      })
    ).json() as { id: number; token: string };
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/projects/${projectId}/stream`, {
      headers: { authorization: `Bearer ${created.token}` },
    });
    try {
      await new Promise<void>((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data) => {
          if ((JSON.parse(String(data)) as { type: string }).type === 'hello') resolve();
        });
      });
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      const res = await appA.fastify.inject({
        method: 'DELETE',
        url: `/api/v1/projects/${projectId}/tokens/${created.id}`,
        headers: { authorization: `Bearer ${admin}` },
      });
      assert.equal(res.statusCode, 204);
      const code = await Promise.race([
        closed,
        new Promise<string>((r) => setTimeout(() => r('still open after 5 s'), 5000)),
      ]);
      assert.equal(code, 4401, 'node B heard tokens.changed from node A and closed the revoked token’s stream');
    } finally {
      ws.terminate();
    }
  });
});
