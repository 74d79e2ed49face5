import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { insertSealedChannel } from '../testing/fixtures.js';
import { buildTestApp, createProject, createToken, createUser, forEachStore } from '../testing/harness.js';
import { API_LIMIT, limitersOf, WEBHOOK_LIMIT, webhookKey } from './limits.js';

/**
 * Request-rate limits (http/limits.ts): the project API per token and per user, the platform
 * webhooks per IP and channel. Over the limit: 429, Retry-After, the standard error body, and
 * nothing changed; other principals and channels are unaffected.
 */

const SECRET = 'dz_limits-test_0123456789';

forEachStore('rate limits', (env) => {
  let app: Awaited<ReturnType<typeof buildTestApp>>;
  let projectId: number;
  let tokenA: string;
  let tokenB: string;
  before(async () => {
    app = await buildTestApp(env.ts.store);
    projectId = await createProject(env.ts.store, 'limits');
    tokenA = await createToken(env.ts.store, projectId, 'admin');
    tokenB = await createToken(env.ts.store, projectId, 'admin');
  });
  after(async () => {
    await app?.fastify.close();
  });

  const getAsToken = async (token: string) => {
    const r = await app.fastify.inject({
      url: `/api/v1/projects/${projectId}/channels`,
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(r.statusCode, 200, r.body);
  };

  test('the API: a token over its limit gets 429 with Retry-After and changes nothing; another token is unaffected', async () => {
    await getAsToken(tokenA);
    const tokenRow = await env.ts.store.db
      .selectFrom('api_tokens')
      .select('id')
      .where('project_id', '=', projectId)
      .orderBy('id')
      .executeTakeFirstOrThrow();
    // Fill token A's window up to the limit (the first request above already counted one).
    const limiter = limitersOf(app.app).api;
    for (let i = 1; i < API_LIMIT.max; i++) limiter.hit(`token:${tokenRow.id}`);
    const audit = () =>
      env.ts.store.db.selectFrom('audit_log').select('id').where('project_id', '=', projectId).execute();
    const auditBefore = (await audit()).length;
    // Refused before the body is even parsed (a 429, not a 400) and before anything is written.
    const r = await app.fastify.inject({
      method: 'POST',
      url: `/api/v1/projects/${projectId}/numbers`,
      headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/json' },
      payload: { phoneNumber: '+48600100200' },
    });
    assert.equal(r.statusCode, 429, r.body);
    const retryAfter = Number(r.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= API_LIMIT.windowMs / 1000, `Retry-After ${r.headers['retry-after']}`);
    assert.equal(r.json().error.code, 'rate_limited');
    assert.equal(typeof r.json().error.requestId, 'string');
    assert.equal((await audit()).length, auditBefore, 'nothing changed');
    // Token B has its own window.
    await getAsToken(tokenB);
  });

  test('the API: a signed-in user is limited per user', async () => {
    const user = await createUser(env.ts.store, projectId, 'manager', 'Ula Limit');
    const limiter = limitersOf(app.app).api;
    for (let i = 0; i < API_LIMIT.max; i++) limiter.hit(`user:${user.id}`);
    const login = await app.fastify.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: user.email, password: 'correct horse battery staple' },
    });
    assert.equal(login.statusCode, 200, login.body);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const r = await app.fastify.inject({ url: `/api/v1/projects/${projectId}/dialogs`, headers: { cookie } });
    assert.equal(r.statusCode, 429, r.body);
    assert.ok(Number(r.headers['retry-after']) >= 1);
  });

  test('webhooks: an IP over its limit on a channel gets 429 before anything is stored; other channels are unaffected', async () => {
    const channelId = await insertSealedChannel(
      env.ts.store,
      projectId,
      'telegram',
      { botToken: '7000000002:AAE-limits-test-token-00000000000' },
      { webhookSecret: SECRET },
    );
    const other = await insertSealedChannel(
      env.ts.store,
      projectId,
      'telegram',
      { botToken: '7000000003:AAE-limits-test-token-00000000000' },
      { webhookSecret: SECRET },
    );
    const update = (id: number) =>
      JSON.stringify({
        update_id: id,
        message: {
          message_id: id,
          from: { id: 77, is_bot: false, first_name: 'Ola' },
          chat: { id: 77, type: 'private', first_name: 'Ola' },
          date: 1_795_000_000,
          text: `limit ${id}`,
        },
      });
    const post = (channel: number, id: number) =>
      app.fastify.inject({
        method: 'POST',
        url: `/webhooks/telegram/${channel}`,
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        payload: update(id),
      });
    const limiter = limitersOf(app.app).webhook;
    for (let i = 0; i < WEBHOOK_LIMIT.max; i++) limiter.hit(webhookKey('127.0.0.1', 'telegram', String(channelId)));
    const r = await post(channelId, 1);
    assert.equal(r.statusCode, 429, r.body);
    assert.ok(Number(r.headers['retry-after']) >= 1);
    assert.equal(r.json().error.code, 'rate_limited');
    const stored = await env.ts.store.db
      .selectFrom('inbound_events')
      .select('platform_event_id')
      .where('channel_id', '=', channelId)
      .execute();
    assert.equal(stored.length, 0, 'nothing stored');
    const ok = await post(other, 2);
    assert.equal(ok.statusCode, 200, ok.body);
  });
});
