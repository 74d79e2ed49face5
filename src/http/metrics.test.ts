import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Simulator, startSimulator } from '../../simulator/server.js';
import { SenderRegistry } from '../channels/senders.js';
import { OutboxWorker } from '../services/outbox-worker.js';
import { insertSealedChannel } from '../testing/fixtures.js';
import { buildTestApp, createProject, createToken, forEachStore, testConfig } from '../testing/harness.js';
import { buildApp } from './app.js';
import { observeSends } from './metrics.js';

/**
 * /metrics after a webhook and a queued reply: webhook counts and durations per platform and
 * outcome, the outbox's depth and age (read on scrape), the WebSocket client gauge.
 */

const SECRET = 'dz_metrics-test_0123456789';

function value(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

forEachStore('metrics', (env) => {
  let now = Date.parse('2026-11-20T10:00:00Z');
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  before(async () => {
    app = await buildTestApp(env.ts.store, () => now);
  });
  after(async () => {
    await app?.fastify.close();
  });

  test('webhook counts and latency, outbox depth and age, websocket clients', async () => {
    const projectId = await createProject(env.ts.store, 'metrics');
    const token = await createToken(env.ts.store, projectId, 'admin');
    const channelId = await insertSealedChannel(
      env.ts.store,
      projectId,
      'telegram',
      { botToken: '7000000004:AAE-metrics-test-token-0000000000' },
      { webhookSecret: SECRET },
    );
    const post = (secret: string) =>
      app.fastify.inject({
        method: 'POST',
        url: `/webhooks/telegram/${channelId}`,
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        payload: JSON.stringify({
          update_id: 5001,
          message: {
            message_id: 1,
            from: { id: 88, is_bot: false, first_name: 'Ewa' },
            chat: { id: 88, type: 'private', first_name: 'Ewa' },
            date: 1_795_000_000,
            text: 'Dzień dobry',
          },
        }),
      });
    assert.equal((await post(SECRET)).statusCode, 200);
    assert.equal((await post('dz_wrong-secret_000000000')).statusCode, 401);
    const dialog = await env.ts.store.db
      .selectFrom('dialogs')
      .select('id')
      .where('channel_id', '=', channelId)
      .executeTakeFirstOrThrow();
    const reply = await app.fastify.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/dialogs/${dialog.id}/reply`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: { text: 'Dzień dobry, w czym pomóc?' },
    });
    assert.equal(reply.statusCode, 201, reply.body);
    now += 42_000;

    const m = await app.fastify.inject('/metrics');
    assert.equal(m.statusCode, 200);
    const body = m.body;
    assert.equal(value(body, 'dziennik_webhook_requests_total{platform="telegram",outcome="accepted"}'), 1);
    assert.equal(value(body, 'dziennik_webhook_requests_total{platform="telegram",outcome="unauthenticated"}'), 1);
    assert.equal(value(body, 'dziennik_webhook_duration_seconds_count{platform="telegram"}'), 2);
    assert.ok((value(body, 'dziennik_webhook_duration_seconds_sum{platform="telegram"}') ?? -1) >= 0);
    assert.ok((value(body, 'dziennik_outbox_pending') ?? 0) >= 1, body.match(/dziennik_outbox.*/g)?.join('\n'));
    const age = value(body, 'dziennik_outbox_oldest_pending_age_seconds') ?? -1;
    assert.ok(age >= 42 && age < 3600, `oldest pending age ${age}`);
    assert.equal(value(body, 'dziennik_websocket_clients'), 0);
  });

  test('sends by platform and outcome with their durations; outgoing webhook deliveries waiting', async () => {
    const sim: Simulator = await startSimulator({ retry: { attempts: 1, delayMs: 5 } });
    const built = await buildApp({
      config: testConfig({ TELEGRAM_API_URL: sim.urls.telegram }),
      store: env.ts.store,
      logger: false,
    });
    try {
      await built.fastify.listen({ port: 0, host: '127.0.0.1' });
      const port = (built.fastify.server.address() as { port: number }).port;
      const BOT = '7000000005:AAE-metrics-send-token-00000000000';
      sim.telegram.createBot({ token: BOT, username: 'metrics_bot' });
      const projectId = await createProject(env.ts.store, 'metrics sends');
      const token = await createToken(env.ts.store, projectId, 'admin');
      const channelId = await insertSealedChannel(
        env.ts.store,
        projectId,
        'telegram',
        { botToken: BOT },
        { webhookSecret: SECRET },
      );
      await fetch(`${sim.urls.telegram}/bot${BOT}/setWebhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://127.0.0.1:${port}/webhooks/telegram/${channelId}`, secret_token: SECRET }),
      });
      await sim.telegram.sendFromUser(BOT, { userId: 89, firstName: 'Iza', text: 'Halo' });
      const dialog = await env.ts.store.db
        .selectFrom('dialogs')
        .select('id')
        .where('channel_id', '=', channelId)
        .executeTakeFirstOrThrow();
      const reply = (text: string) =>
        built.fastify.inject({
          method: 'POST',
          url: `/api/v1/projects/${projectId}/dialogs/${dialog.id}/reply`,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload: { text },
        });
      // The test above left a reply queued to a bot the simulator does not know: not this test's sends.
      await env.ts.store.db.deleteFrom('outbox').where('project_id', '!=', projectId).execute();
      const worker = new OutboxWorker(built.app, new SenderRegistry(built.app), {
        observe: observeSends(built.metrics),
        backoffBaseMs: 1,
        backoffCapMs: 1,
      });
      assert.equal((await reply('Pierwsza')).statusCode, 201);
      sim.telegram.failNext({ kind: 'serverError', status: 502 });
      await worker.runOnce(); // 502: retried later
      await new Promise((r) => setTimeout(r, 5));
      await worker.drain(); // sent
      assert.equal((await reply('Druga')).statusCode, 201);
      sim.telegram.failNext({ kind: 'blocked' });
      await worker.drain(); // 403 blocked: failed for good
      assert.deepEqual(
        sim.telegram.sent(BOT).map((m) => m.text),
        ['Pierwsza'],
      );

      const body = (await built.fastify.inject('/metrics')).body;
      assert.equal(value(body, 'dziennik_sends_total{platform="telegram",outcome="sent"}'), 1);
      assert.equal(value(body, 'dziennik_sends_total{platform="telegram",outcome="retry"}'), 1);
      assert.equal(value(body, 'dziennik_sends_total{platform="telegram",outcome="failed"}'), 1);
      assert.equal(value(body, 'dziennik_send_duration_seconds_count{platform="telegram"}'), 3);
      const pending = await env.ts.store.db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow();
      assert.equal(value(body, 'dziennik_webhook_deliveries_pending'), Number(pending.n));
    } finally {
      await built.fastify.close();
      await sim.close();
    }
  });
});
