import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { insertSealedChannel } from '../testing/fixtures.js';
import { buildTestApp, createProject, createToken, forEachStore } from '../testing/harness.js';

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
});
