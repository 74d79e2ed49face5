import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { receiveInbound } from '../../services/receive-inbound.js';
import type { AppContext } from '../../services/context.js';
import type { Store } from '../../store/open.js';
import { createChannel, insertSealedChannel } from '../../testing/fixtures.js';
import { createProject, createToken, forEachStore, testConfig } from '../../testing/harness.js';
import { buildApp } from '../app.js';

/** The widget's public API: config, visits with deep-link tokens, callback requests, and its guards. */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SITE = 'https://sklep.example';
const DAY = 24 * 3_600_000;

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
type Json = any;

forEachStore('widget api', (env) => {
  let store: Store;
  let app: FastifyInstance;
  let ctx: AppContext;
  let projectId: number;
  let key: string;
  let telegramId: number;
  let smsId: number;
  let now = Date.parse('2026-11-20T10:00:00Z');
  const clock = () => now;
  const errorOf = (res: LightMyRequestResponse) =>
    (res.json() as { error: { code: string; fields?: { field: string; message: string }[] } }).error;
  const post = (resource: string, payload: object, headers: Record<string, string> = { origin: SITE }, ip?: string) =>
    app.inject({
      method: 'POST',
      url: `/api/v1/widget/${key}/${resource}`,
      headers,
      payload,
      ...(ip ? { remoteAddress: ip } : {}),
    });

  before(async () => {
    store = env.ts.store;
    const built = await buildApp({ config: testConfig(), store, clock, logger: false });
    app = built.fastify;
    ctx = built.app;
    projectId = await createProject(store, 'Sklep');
    const admin = { authorization: `Bearer ${await createToken(store, projectId, 'admin')}` };
    const res = await app.inject({
      method: 'PATCH',
      url: `/api/v1/projects/${projectId}/settings`,
      headers: admin,
      payload: { widgetAllowedOrigins: [`${SITE}/`], widget: { color: '#aa3300', greeting: 'Dzień dobry!' } },
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json().widgetAllowedOrigins, [SITE], 'an origin is stored without its trailing slash');
    key = res.json().publicKey;
    telegramId = await insertSealedChannel(store, projectId, 'telegram', {}, { config: { botUsername: 'sklep_bot' } });
    await insertSealedChannel(store, projectId, 'viber', {}, { config: { uri: 'sklepviber' } });
    await insertSealedChannel(store, projectId, 'messenger', {}, { config: { pageId: '1234567890' } });
    smsId = await createChannel(store, projectId, 'sms-http');
  });
  after(async () => {
    await app?.close();
  });

  test('config: the connected messengers with links, the callback form, the look; CORS for the allowed origin only', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/widget/${key}/config`, headers: { origin: SITE } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['access-control-allow-origin'], SITE);
    assert.deepEqual(res.json(), {
      messengers: [
        { type: 'telegram', link: 'https://t.me/sklep_bot' },
        { type: 'viber', link: 'viber://pa?chatURI=sklepviber' },
        { type: 'messenger', link: 'https://m.me/1234567890' },
      ],
      callbackForm: true,
      color: '#aa3300',
      greeting: 'Dzień dobry!',
      position: 'bottom-right',
    });

    const foreign = await app.inject({
      method: 'GET',
      url: `/api/v1/widget/${key}/config`,
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(foreign.statusCode, 403);
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);

    const preflight = await app.inject({
      method: 'OPTIONS',
      url: `/api/v1/widget/${key}/visits`,
      headers: {
        origin: SITE,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], SITE);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    assert.match(String(preflight.headers['access-control-allow-headers']), /content-type/);
    const badPreflight = await app.inject({
      method: 'OPTIONS',
      url: `/api/v1/widget/${key}/visits`,
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(badPreflight.statusCode, 403);
    assert.equal(badPreflight.headers['access-control-allow-origin'], undefined);
  });

  test('an unknown key and a switched-off widget are 404', async () => {
    const unknown = await app.inject({ method: 'GET', url: '/api/v1/widget/pk_nope/config' });
    assert.equal(unknown.statusCode, 404);
    const other = await createProject(store, 'Wyłączony');
    await store.db
      .updateTable('projects')
      .set({ settings: JSON.stringify({ services: { widget: false }, widgetAllowedOrigins: [SITE] }) })
      .where('id', '=', other)
      .execute();
    const row = await store.db
      .selectFrom('projects')
      .select('public_key')
      .where('id', '=', other)
      .executeTakeFirstOrThrow();
    const off = await app.inject({ method: 'GET', url: `/api/v1/widget/${row.public_key}/config` });
    assert.equal(off.statusCode, 404);
    const offVisit = await app.inject({
      method: 'POST',
      url: `/api/v1/widget/${row.public_key}/visits`,
      payload: { landingUrl: `${SITE}/` },
    });
    assert.equal(offVisit.statusCode, 404);
  });

  test('a visit: classified, stored with a URL-safe token that expires in 7 days, links carry it; the dialog gets it', async () => {
    const res = await post('visits', {
      landingUrl: `${SITE}/rowery?utm_source=google&utm_medium=cpc&utm_campaign=wiosna&gclid=abc`,
      referrer: 'https://www.google.com/',
      gaClientId: '1234567890.1700000000',
      messenger: 'telegram',
      utmSource: 'google',
      utmMedium: 'cpc',
      utmCampaign: 'wiosna',
      gclid: 'abc',
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers['access-control-allow-origin'], SITE);
    const body = res.json() as Json;
    assert.match(body.token, /^[A-Za-z0-9_-]{32}$/);
    assert.ok(body.token.length <= 64);
    assert.deepEqual(body.links, {
      telegram: `https://t.me/sklep_bot?start=${body.token}`,
      viber: `viber://pa?chatURI=sklepviber&context=${body.token}`,
      messenger: `https://m.me/1234567890?ref=${body.token}`,
    });
    const visit = await store.db
      .selectFrom('visits')
      .selectAll()
      .where('token', '=', body.token)
      .executeTakeFirstOrThrow();
    assert.equal(visit.project_id, projectId);
    assert.equal(visit.channel_group, 'Paid Search');
    assert.equal(visit.click_ids, 'gclid=abc');
    assert.equal(visit.ga_client_id, '1234567890.1700000000');
    assert.equal(visit.messenger, 'telegram');
    assert.equal(Number(visit.expires_at), now + 7 * DAY);

    const other = await post('visits', { landingUrl: `${SITE}/` });
    assert.notEqual(other.json().token, body.token);

    // The deep link's /start carries the token: the dialog gets the visit while it is valid.
    const start = (userId: string, token: string) =>
      receiveInbound(ctx, { id: telegramId, projectId, type: 'telegram' }, [
        {
          kind: 'start',
          eventId: `start-${userId}`,
          externalUserId: userId,
          displayName: userId,
          sentAt: now,
          deepLinkToken: token,
        },
      ]);
    const [ok] = await start('501', body.token);
    assert.equal(ok?.outcome, 'stored');
    const dialog = await store.db
      .selectFrom('dialogs')
      .selectAll()
      .where('id', '=', (ok as { dialogId: number }).dialogId)
      .executeTakeFirstOrThrow();
    assert.deepEqual(
      [dialog.utm_source, dialog.utm_medium, dialog.utm_campaign, dialog.channel_group],
      ['google', 'cpc', 'wiosna', 'Paid Search'],
    );

    now += 7 * DAY + 1;
    const [late] = await start('502', body.token);
    const lateDialog = await store.db
      .selectFrom('dialogs')
      .selectAll()
      .where('id', '=', (late as { dialogId: number }).dialogId)
      .executeTakeFirstOrThrow();
    assert.equal(lateDialog.visit_id, null, 'an expired token attaches nothing');
  });

  test('bad input is a 400 naming the field; a large body is a 413', async () => {
    const cases: [object, string][] = [
      [{}, 'body.landingUrl'],
      [{ landingUrl: 'javascript:alert(1)' }, 'body.landingUrl'],
      [{ landingUrl: `${SITE}/`, utmSource: 'x'.repeat(201) }, 'body.utmSource'],
      [{ landingUrl: `${SITE}/`, messenger: 'whatsapp' }, 'body.messenger'],
      [{ landingUrl: `${SITE}/`, gaClientId: 'GA1.1.x' }, 'body.gaClientId'],
      [{ landingUrl: `${SITE}/`, email: 'a@b.c' }, 'body.email'],
    ];
    for (const [payload, field] of cases) {
      const res = await post('visits', payload, { origin: SITE }, '10.0.0.1');
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      assert.equal(res.headers['access-control-allow-origin'], SITE, 'errors are readable by the widget');
      assert.deepEqual(
        errorOf(res).fields?.map((f) => f.field),
        [field],
      );
    }
    const big = await post('visits', { landingUrl: `${SITE}/`, referrer: `${SITE}/${'x'.repeat(20_000)}` });
    assert.equal(big.statusCode, 413);
  });

  test('a callback request becomes a new SMS dialog with the visit; bad phone or no consent is a 400', async () => {
    const visit = (
      await post('visits', { landingUrl: `${SITE}/`, utmSource: 'newsletter', utmMedium: 'email' })
    ).json();
    const res = await post('callbacks', {
      name: 'Jan Kowalski',
      phone: '601 234 567',
      consent: true,
      visitToken: visit.token,
    });
    assert.equal(res.statusCode, 201, res.body);
    const dialog = await store.db
      .selectFrom('dialogs')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('channel_id', '=', smsId)
      .executeTakeFirstOrThrow();
    assert.equal(dialog.status, 'new');
    assert.equal(dialog.client_phone, '+48601234567');
    assert.equal(dialog.client_name, 'Jan Kowalski');
    assert.equal(dialog.utm_source, 'newsletter');
    assert.equal(dialog.channel_group, 'Email');
    const msg = await store.db
      .selectFrom('messages')
      .select('text')
      .where('dialog_id', '=', dialog.id)
      .executeTakeFirstOrThrow();
    assert.equal(msg.text, 'Prośba o oddzwonienie: Jan Kowalski');

    const bad: [object, string][] = [
      [{ name: 'Jan', phone: '123', consent: true }, 'body.phone'],
      [{ name: 'Jan', phone: '601234567', consent: false }, 'body.consent'],
      [{ name: '', phone: '601234567', consent: true }, 'body.name'],
      [{ name: 'Jan', phone: '601234567', consent: true, visitToken: 'a b' }, 'body.visitToken'],
    ];
    for (const [payload, field] of bad) {
      const r = await post('callbacks', payload, { origin: SITE }, '10.0.0.2');
      assert.equal(r.statusCode, 400, JSON.stringify(payload));
      assert.deepEqual(
        errorOf(r).fields?.map((f) => f.field),
        [field],
      );
    }
  });

  test('without an SMS channel a callback request is a 409 and the form is off', async () => {
    const other = await createProject(store, 'Bez SMS');
    await store.db
      .updateTable('projects')
      .set({ settings: JSON.stringify({ widgetAllowedOrigins: [SITE] }) })
      .where('id', '=', other)
      .execute();
    const row = await store.db
      .selectFrom('projects')
      .select('public_key')
      .where('id', '=', other)
      .executeTakeFirstOrThrow();
    const cfg = await app.inject({
      method: 'GET',
      url: `/api/v1/widget/${row.public_key}/config`,
      headers: { origin: SITE },
    });
    assert.deepEqual(cfg.json(), {
      messengers: [],
      callbackForm: false,
      color: '#1c7ed6',
      greeting: null,
      position: 'bottom-right',
    });
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/widget/${row.public_key}/callbacks`,
      headers: { origin: SITE },
      payload: { name: 'Jan', phone: '+48601234567', consent: true },
      remoteAddress: '10.0.0.3',
    });
    assert.equal(res.statusCode, 409, res.body);
    assert.match(errorOf(res).code, /conflict/);
  });

  test('per-IP rate limit: the sixth callback request in an hour is a 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await post('callbacks', { name: 'X', phone: '1', consent: true }, { origin: SITE }, '10.1.1.1')).statusCode,
      );
    }
    assert.deepEqual(statuses, [400, 400, 400, 400, 400, 429]);
    const elsewhere = await post('callbacks', { name: 'X', phone: '1', consent: true }, { origin: SITE }, '10.1.1.2');
    assert.equal(elsewhere.statusCode, 400, 'another address has its own budget');
  });

  test('/widget.js: JavaScript with a long cache and an ETag (304 when unchanged)', async () => {
    const res = await app.inject({ method: 'GET', url: '/widget.js' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/javascript/);
    assert.match(String(res.headers['cache-control']), /max-age=\d{5,}/);
    const etag = String(res.headers.etag);
    const again = await app.inject({ method: 'GET', url: '/widget.js', headers: { 'if-none-match': etag } });
    assert.equal(again.statusCode, 304);
  });
});

test('the widget build stays within 6 KB gzipped, and a build over its budget fails', () => {
  const file = path.join(ROOT, 'widget/dist/widget.js');
  assert.ok(fs.existsSync(file), 'run `npm run build:web` first');
  const gz = zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length;
  assert.ok(gz <= 6 * 1024, `widget.js is ${gz} B gzipped`);
  const over = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build-widget.mjs')], {
    env: { ...process.env, WIDGET_BUDGET_BYTES: '1000' },
    encoding: 'utf8',
  });
  assert.equal(over.status, 1, over.stderr);
  assert.match(over.stderr, /over the budget/);
});
