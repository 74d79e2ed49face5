import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { insertSealedChannel } from '../testing/fixtures.js';
import { buildTestApp, createProject, createToken, createUser, forEachStore } from '../testing/harness.js';
import {
  addressKey,
  API_LIMIT,
  AUTH_FAILURE_LIMIT,
  limitersOf,
  WEBHOOK_LIMIT,
  WEBHOOK_REFUSAL_LIMIT,
  webhookKey,
} from './limits.js';

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
  test('refused credentials per address: over the limit even a good token waits (429); other addresses are unaffected', async () => {
    const from = (remoteAddress: string, token: string) =>
      app.fastify.inject({
        url: `/api/v1/projects/${projectId}/channels`,
        headers: { authorization: `Bearer ${token}` },
        remoteAddress,
      });
    const guesser = '198.51.100.7';
    // Most of the window filled directly; the last refusals are real requests, each counted.
    const limiter = limitersOf(app.app).authFailures;
    for (let i = 5; i < AUTH_FAILURE_LIMIT.max; i++) limiter.hit(guesser);
    // No credentials at all: a 401 that guesses nothing and is not counted.
    for (let i = 0; i < 10; i++) {
      const r = await app.fastify.inject({ url: `/api/v1/projects/${projectId}/channels`, remoteAddress: guesser });
      assert.equal(r.statusCode, 401, r.body);
    }
    assert.equal((await from(guesser, tokenB)).statusCode, 200, 'not over the limit yet');
    for (let i = 0; i < 5; i++) {
      const r = await from(guesser, `dz_${projectId}_not-a-real-token-${i}`);
      assert.equal(r.statusCode, 401, r.body);
    }
    const stream = await app.fastify.inject({
      url: `/api/v1/projects/${projectId}/stream`,
      headers: { authorization: `Bearer ${tokenB}` },
      remoteAddress: guesser,
    });
    assert.equal(stream.statusCode, 429, 'the stream is behind the same limit');
    const r = await from(guesser, tokenB);
    assert.equal(r.statusCode, 429, r.body);
    assert.equal(r.json().error.code, 'rate_limited');
    assert.ok(Number(r.headers['retry-after']) >= 1);
    assert.equal((await from('198.51.100.8', tokenB)).statusCode, 200, 'another address');
  });

  test('refused webhooks per address, whatever the channel: rotating channel ids does not get round the limit', async () => {
    const channelId = await insertSealedChannel(
      env.ts.store,
      projectId,
      'telegram',
      { botToken: '7000000004:AAE-limits-test-token-00000000000' },
      { webhookSecret: SECRET },
    );
    const body = JSON.stringify({
      update_id: 501,
      message: {
        message_id: 501,
        from: { id: 78, is_bot: false, first_name: 'Ela' },
        chat: { id: 78, type: 'private', first_name: 'Ela' },
        date: 1_795_000_000,
        text: 'refusals',
      },
    });
    const post = (remoteAddress: string, channel: number, secret: string) =>
      app.fastify.inject({
        method: 'POST',
        url: `/webhooks/telegram/${channel}`,
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        payload: body,
        remoteAddress,
      });
    const forger = '203.0.113.50';
    const limiter = limitersOf(app.app).webhookRefusals;
    for (let i = 5; i < WEBHOOK_REFUSAL_LIMIT.max; i++) limiter.hit(`telegram:${forger}`);
    // Real refusals: unknown channel ids, and a wrong secret on a real one.
    for (let i = 0; i < 4; i++) assert.equal((await post(forger, 900_000 + i, SECRET)).statusCode, 404);
    assert.equal((await post(forger, channelId, 'dz_wrong-secret_000000000')).statusCode, 401);
    const r = await post(forger, channelId, SECRET);
    assert.equal(r.statusCode, 429, r.body);
    assert.equal(r.json().error.code, 'rate_limited');
    const stored = await env.ts.store.db
      .selectFrom('inbound_events')
      .select('platform_event_id')
      .where('channel_id', '=', channelId)
      .execute();
    assert.equal(stored.length, 0, 'nothing stored from the address over the limit');
    assert.equal((await post('203.0.113.51', channelId, SECRET)).statusCode, 200, 'another address');

    // A switched-off channel that the platform keeps delivering to is not a guess: its 404s do not
    // count, so they cannot hold up the platform's other channels from that address.
    const switchedOff = await insertSealedChannel(
      env.ts.store,
      projectId,
      'telegram',
      { botToken: '7000000006:AAE-limits-test-token-00000000000' },
      { webhookSecret: SECRET },
    );
    await env.ts.store.db.updateTable('channels').set({ enabled: 0 }).where('id', '=', switchedOff).execute();
    const platform = '149.154.167.99';
    for (let i = 10; i < WEBHOOK_REFUSAL_LIMIT.max; i++) limiter.hit(`telegram:${platform}`);
    for (let i = 0; i < 20; i++) assert.equal((await post(platform, switchedOff, SECRET)).statusCode, 404);
    assert.equal((await post(platform, channelId, SECRET)).statusCode, 200, 'its other channels still get through');
  });

  test('per-address keys: IPv4 as is, IPv6 by its /64', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('2001:db8:0:12:1:2:3:4'), '2001:db8:0:12::/64');
    assert.equal(addressKey('2001:0DB8:0000:0012:ffff::1'), '2001:db8:0:12::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
  });
});
